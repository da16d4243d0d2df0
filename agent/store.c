/*
 * store.c - hedged's state in SQLite: the images it holds and the VMs it
 * supervises.  The database is the source of truth, so a restarted agent
 * knows every VM, its last pid and what it was asked to do.
 */
#include <stdio.h>

#include "agent.h"

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    /*
     * Commits without fsync (WAL: still atomic, and durable when hedged
     * crashes; a power cut may lose the last changes, and the VMs with
     * them).  With fsync every state change costs milliseconds under the
     * agent's lock, which limited starts to a few hundred a second.
     */
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;"
    "CREATE TABLE IF NOT EXISTS images ("
    " id TEXT PRIMARY KEY," /* sha256 of the uploaded bytes, hex */
    " kind TEXT NOT NULL,"  /* hvt or wasm */
    " size INTEGER NOT NULL,"
    " path TEXT NOT NULL," /* the bootable .hvt */
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS vms ("
    " name TEXT PRIMARY KEY,"
    " image TEXT NOT NULL REFERENCES images(id),"
    " mem INTEGER NOT NULL,"
    " args TEXT NOT NULL," /* JSON arrays of strings */
    " env TEXT NOT NULL,"
    " restart TEXT NOT NULL,"
    " state TEXT NOT NULL," /* created running paused stopping restarting exited */
    " pid INTEGER,"
    " supervisor_pid INTEGER," /* the hedged that spawned it: its child or adopted */
    " exit_code INTEGER,"
    " exit_signal INTEGER,"
    " reason TEXT,"
    " created_at INTEGER NOT NULL,"
    " started_at INTEGER,"
    " finished_at INTEGER,"
    " boot_ms REAL,"
    " restarts INTEGER NOT NULL DEFAULT 0,"
    " restart_at INTEGER,"
    " stop_deadline INTEGER);"
    "CREATE TABLE IF NOT EXISTS snapshots ("
    " name TEXT PRIMARY KEY,"
    " vm TEXT NOT NULL," /* taken from; that VM may be gone since */
    " image TEXT NOT NULL REFERENCES images(id),"
    " mem INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " path TEXT NOT NULL,"
    " created_at INTEGER NOT NULL);";

/* Columns added after the first release: added to older databases when opened. */
static const char *const added_columns[] = {
    "ALTER TABLE vms ADD COLUMN net TEXT",      /* JSON object: tap ip gw mac netns */
    "ALTER TABLE vms ADD COLUMN snapshot TEXT", /* created from this snapshot */
    "ALTER TABLE vms ADD COLUMN cpu_millis INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE vms ADD COLUMN incoming TEXT", /* tcp:A.B.C.D:PORT to wait on */
};

int store_open(char *err, size_t errlen)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/hedged.db", agent.state_dir);
	if (sqlite3_open_v2(path, &agent.db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path, sqlite3_errmsg(agent.db));
		return -1;
	}
	sqlite3_busy_timeout(agent.db, 5000);
	char *msg = NULL;
	if (sqlite3_exec(agent.db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "cannot set up %s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	/* Fails with "duplicate column" once the column exists: that is the point. */
	for (size_t i = 0; i < sizeof(added_columns) / sizeof(added_columns[0]); i++)
		sqlite3_exec(agent.db, added_columns[i], NULL, NULL, NULL);
	return 0;
}
