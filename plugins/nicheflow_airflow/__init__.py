"""The Airflow side of nicheflow that is not a DAG: the checkpoint sensor and its trigger.

Lives in plugins/ (on the triggerer's and workers' sys.path) because the triggerer cannot import
classes from the DAGs folder."""
