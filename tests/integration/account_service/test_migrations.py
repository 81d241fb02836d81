import asyncio
import uuid

import asyncpg

from services.account_service.migrations import available, migrate


async def test_concurrent_migrations_apply_each_version_once(infra):
    dsn = f"{infra.postgres_url}/poolgate_test_{infra.run_id}_m{uuid.uuid4().hex[:4]}"
    results = await asyncio.gather(*(migrate(dsn) for _ in range(3)))
    versions = [m.version for m in available()]
    assert sorted(v for applied in results for v in applied) == versions
    assert await migrate(dsn) == []
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == versions
    finally:
        await conn.close()
        admin = await asyncpg.connect(f"{infra.postgres_url}/postgres")
        await admin.execute(f'DROP DATABASE "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
        await admin.close()
