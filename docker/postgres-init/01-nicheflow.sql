-- Runs once, when the PostgreSQL volume is first created (docker/compose.yaml). One server, two databases:
-- `airflow` (Airflow's metadata, created by POSTGRES_DB) and `nicheflow` (the project's schema, created here).
CREATE DATABASE nicheflow;
