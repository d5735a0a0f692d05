"""Fixtures of the research-provider tests: the fake Wikipedia and Brave servers."""

import pytest

from tests.helpers.fake_research_servers import FakeBraveSearch, FakeWikipedia
from tests.helpers.research import KEY


@pytest.fixture
def wiki():
    with FakeWikipedia() as server:
        yield server


@pytest.fixture
def brave():
    with FakeBraveSearch(valid_key=KEY) as server:
        yield server
