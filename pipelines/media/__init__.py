"""Media: the one ffmpeg wrapper, the renderer, captions, audio finishing, speech recognition, drawing and thumbnails, the aligner of spoken onto written words, the media cache."""
