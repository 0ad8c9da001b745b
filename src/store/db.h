/*
 * The state store's SQLite file, DATA/state.db.
 *
 * Opens the database in WAL mode and brings its schema up to date: each
 * migration in db.c runs once, in its own transaction, and PRAGMA
 * user_version records how far the file has come. A file written by a newer
 * tally (higher version) is refused rather than guessed at.
 *
 * A struct tly_db is one connection, used by one thread.
 */
#ifndef TLY_STORE_DB_H
#define TLY_STORE_DB_H

#include "core/err.h"

#include <sqlite3.h>

struct tly_db;

/* Opens (creating if needed) `path` and applies pending migrations. */
int tly_db_open(struct tly_db **out, const char *path, struct tly_error *err);

/* Borrowed handle, valid until tly_db_close. */
sqlite3 *tly_db_sqlite(struct tly_db *db);

/* The schema version this tallyd writes (the number of migrations). */
int tly_db_latest_version(void);

/* Schema version of the open file. */
int tly_db_schema_version(struct tly_db *db);

/* Changes when another connection commits to the file (PRAGMA
 * data_version); cheap enough to poll. Returns -1 on error. */
long tly_db_data_version(struct tly_db *db);

void tly_db_close(struct tly_db *db);

#endif
