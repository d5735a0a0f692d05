"""The production's stages: one module per DAG task, named as the task (`start`, `knowledge`, `script`,
`audio`, `broll`, `final`, `publish`, `learnings`, `shorts`), listed once in `registry`, and run by
`runner`. A stage is plain Python (no Airflow): the DAG's tasks are thin wrappers around `runner`."""
