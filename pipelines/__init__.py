"""nicheflow's production code, free of Airflow: the stages (pipelines.stages), the providers behind one
interface per slot (pipelines.providers), the media layer (pipelines.media), the records the stages pass,
config, database, errors and files; what only a person at a terminal runs lives in pipelines.local."""
