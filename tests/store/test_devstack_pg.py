import asyncpg

from rectify.devstack import EmbeddedPostgres


async def test_each_test_gets_an_empty_database_of_its_own(fresh_database_url: str) -> None:
    conn = await asyncpg.connect(fresh_database_url)
    try:
        tables = await conn.fetchval("select count(*) from pg_tables where schemaname = 'public'")
        assert tables == 0
        assert await conn.fetchval("show server_encoding") == "UTF8"
    finally:
        await conn.close()


def test_a_second_server_on_the_same_data_folder_is_refused(pg: EmbeddedPostgres) -> None:
    import pytest

    from rectify.devstack import StackError

    with pytest.raises(StackError, match="already in use"):
        EmbeddedPostgres(pg.data_dir).start()
