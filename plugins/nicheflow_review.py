"""Registers the Review page and API with Airflow: the FastAPI app is mounted at /review by the api-server
and "Review" appears under Browse in the Airflow UI (rendered in an iframe)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from nicheflow_airflow.review_app import app


class NicheflowReviewPlugin(AirflowPlugin):
    name = "nicheflow_review"
    fastapi_apps = [{"app": app, "url_prefix": "/review", "name": "nicheflow review"}]
    external_views = [
        {
            "name": "Review",
            "href": "/review/",
            "url_route": "review",
            "destination": "nav",
            "category": "browse",
        }
    ]
