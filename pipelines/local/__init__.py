"""What only a person at a terminal runs: the `nicheflow` CLI, the local Airflow stack, the embedded PostgreSQL and the demo."""
