"""Makes broken channel YAMLs visible in the Airflow UI: when any config is invalid, this file fails to
import with the list of problems (shown under DAG import errors), while nicheflow_channels.py keeps
loading every valid channel."""

from pipelines.config import load_all

_errors = load_all().errors
if _errors:
    raise ValueError(
        "nicheflow skipped invalid channel configs (fix them in niche_configs/):\n\n"
        + "\n\n".join(_errors.values())
    )
