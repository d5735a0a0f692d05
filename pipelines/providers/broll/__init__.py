"""The b-roll slot: the channel's library, Pexels and Pixabay, and generated visuals as the last resort."""
