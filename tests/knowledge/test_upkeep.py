from knowledge import store, upkeep
from pipelines import production
from pipelines.db import connect


def test_upkeep_consolidates_near_duplicates_and_expires_old_facts(database, data_dir, configs):
    with connect() as conn:
        a = store.add_facts(
            conn,
            "science_en",
            "english",
            [
                {
                    "claim": "Voyager 1 was launched by NASA in September 1977.",
                    "source_title": "A",
                    "confidence": 0.6,
                }
            ],
        )
        # a near-duplicate that slipped in before the similarity check existed (direct insert)
        b = conn.execute("""INSERT INTO facts (channel, language, claim, source_title, confidence)
                            VALUES ('science_en', 'english', 'Voyager 1 was launched by NASA in September, 1977',
                                    'B', 0.9) RETURNING id""").fetchone()["id"]
        old = conn.execute("""INSERT INTO facts (channel, language, claim, source_title, confidence, retrieved_at)
                              VALUES ('science_en', 'english', 'The Mars rover Curiosity landed in Gale crater in 2012.',
                                      'C', 0.9, now() - interval '400 days') RETURNING id""").fetchone()["id"]
        pt = store.add_facts(
            conn,
            "historia_ptbr",
            "portuguese",
            [{"claim": "Voyager 1 was launched by NASA in September 1977.", "source_title": "D"}],
        )
        p = production.create(conn, "science_en", "Voyager", "r1")
        store.record_coverage(conn, "science_en", "Voyager", p.id, [a.new_ids[0]])
    with production.channel_db("science_en") as conn:  # as the upkeep DAG runs it: inside the channel
        report = upkeep.run(conn, "science_en", ttl_days=365)
        again = upkeep.run(conn, "science_en", ttl_days=365)
    with connect() as conn:
        dup = conn.execute("SELECT duplicate_of FROM facts WHERE id = %s", (a.new_ids[0],)).fetchone()
        cov = conn.execute("SELECT fact_ids FROM coverage WHERE production_id = %s", (p.id,)).fetchone()
        live = [f.id for f in store.search_facts(conn, "science_en", "english", "Voyager Curiosity")]
        pt_live = [f.id for f in store.search_facts(conn, "historia_ptbr", "english", "Voyager")]
    assert report["consolidated"] == 1 and report["expired"] == 1
    assert (report["current_facts"], report["expired_facts"], report["duplicate_facts"]) == (1, 2, 1)
    assert again["consolidated"] == 0 and again["expired"] == 0  # nothing done twice
    assert dup["duplicate_of"] == b  # the more confident claim is kept
    assert cov["fact_ids"] == [b]  # coverage follows the kept fact
    assert live == [b] and old not in live
    assert pt_live == pt.new_ids  # another channel's identical claim is untouched
