#!/usr/bin/env bash
# gen-books.sh N [DATABASE_URL] - adds N synthetic books to a migrated catalogue, then VACUUM ANALYZE.
#
# One INSERT ... SELECT over generate_series. For large N (>= 100000) the secondary indexes of
# books are dropped first and rebuilt afterwards from their own definitions, two at a time
# (rebuilding is several times faster than maintaining three trigram indexes row by row): about
# 40-50 s for 1,000,000 books on 2 cores, most of it the trigram index builds. If the script is
# interrupted, the EXIT trap still recreates any missing index.
# Books get valid, unique ISBN-13s (prefix 979, numbered after the highest one already present,
# so the script can be run again), titles "<Adjective> <Noun> of <Topic>" (~50 x 40 x 50 distinct),
# authors "<First> <Last>" from 64 x 80 = 5120 names (about 200 books each per million: a full
# author name filter such as author=Ada%20Okafor matches a few hundred rows), prices 5.00-154.99,
# quantities 0-99 (about 1 in 20 out of stock) and creation times spread over the past year.
# Search terms for benchmarks on 1,000,000 books: author=Ada%20Okafor (~195 rows),
# search=Ada%20Okafor (same), search=silent%20garden%20of%20kubernetes (10), search=garden%20of%20kuber (500).
# The database URL defaults to $DATABASE_URL.
set -euo pipefail
n=${1:?usage: gen-books.sh N [DATABASE_URL]}
url=${2:-${DATABASE_URL:?usage: gen-books.sh N [DATABASE_URL]}}
case "$n" in ''|*[!0-9]*) echo "gen-books.sh: N must be a non-negative integer" >&2; exit 2 ;; esac

start=$(date +%s)
# "name<TAB>CREATE INDEX IF NOT EXISTS ..." for every index but the primary key and isbn unique.
defs=$(psql "$url" -v ON_ERROR_STOP=1 -Atq -c "SELECT indexname || E'\t' ||
	replace(indexdef, 'CREATE INDEX ', 'CREATE INDEX IF NOT EXISTS ') FROM pg_indexes
	WHERE schemaname = current_schema() AND tablename = 'books'
	AND indexdef NOT LIKE 'CREATE UNIQUE%' ORDER BY indexname")

rebuild() {
	# Two parallel sessions; the trigram (gin) indexes, the slowest, are spread across both.
	local lane=0 pids=() name def rc=0
	local -a sql=("" "")
	while IFS=$'\t' read -r name def; do
		[ -n "$name" ] || continue
		sql[lane]+="$def;"$'\n'
		lane=$((1 - lane))
	done < <(printf '%s\n' "$defs" | awk -F'\t' 'NF { print ($2 ~ / USING gin / ? 0 : 1) "\t" $0 }' \
		 | sort -s -k1,1 | cut -f2-)
	for lane in 0 1; do
		[ -n "${sql[lane]}" ] || continue
		psql "$url" -v ON_ERROR_STOP=1 -q -c "SET maintenance_work_mem = '512MB'" -c "${sql[lane]}" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}

dropped=0
if [ "$n" -ge 100000 ] && [ -n "$defs" ]; then
	trap 'rebuild || echo "gen-books.sh: index rebuild failed" >&2' EXIT
	names=$(printf '%s\n' "$defs" | cut -f1 | paste -sd, -)
	psql "$url" -v ON_ERROR_STOP=1 -q -c "DROP INDEX IF EXISTS $names"
	dropped=1
fi

psql "$url" -v ON_ERROR_STOP=1 -q -v n="$n" <<'SQL'
SET maintenance_work_mem = '256MB';
SET work_mem = '64MB';
SET synchronous_commit = off;
WITH words AS (
	SELECT
	  ARRAY['Silent','Practical','Modern','Hidden','Essential','Elegant','Distributed','Functional',
		'Reactive','Concurrent','Secure','Scalable','Pragmatic','Lazy','Eager','Clever','Brave',
		'Quiet','Rapid','Patient','Ancient','Curious','Effective','Robust','Minimal','Complete',
		'Gentle','Hungry','Invisible','Luminous','Mutable','Immutable','Parallel','Portable',
		'Resilient','Simple','Strange','Tiny','Vast','Wild','Golden','Crimson','Northern',
		'Southern','Restless','Careful','Forgotten','Hopeful','Reliable','Fearless'] AS adj,
	  ARRAY['Garden','Compiler','Kernel','River','Algorithm','Protocol','Engine','Library','Cloud',
		'Pattern','Machine','Network','Database','Lantern','Mountain','Harbor','Signal','Thread',
		'Process','Island','Journey','Cathedral','Bazaar','Forest','Bridge','Lighthouse','Citadel',
		'Workshop','Archive','Compass','Scheduler','Parser','Cache','Socket','Pipeline','Ledger',
		'Mirror','Atlas','Orchard','Beacon'] AS noun,
	  ARRAY['Rust','Go','Python','Kubernetes','PostgreSQL','Linux','Types','Testing','Design',
		'Security','Networks','Compilers','Databases','Operating Systems','Cryptography','Music',
		'Mathematics','Chemistry','History','Philosophy','Economics','Cooking','Gardening','Travel',
		'Photography','Astronomy','Biology','Physics','Poetry','Architecture','Statistics','Logic',
		'Robotics','Graphics','Games','Finance','Medicine','Law','Ethics','Language','Oceans',
		'Weather','Cities','Forests','Deserts','Rivers','Machines','Markets','Memory','Time'] AS topic,
	  ARRAY['Ada','Alan','Grace','Linus','Barbara','Donald','Edsger','Margaret','Ken','Dennis',
		'Bjarne','Guido','James','Radia','Frances','Tim','Vint','Whitfield','John','Niklaus',
		'Leslie','Tony','Robin','Shafi','Silvio','Judea','Yoshua','Geoffrey','Fei','Cynthia',
		'Andrew','Hedy','Katherine','Dorothy','Mary','Sophie','Lucas','Amara','Kenji','Priya',
		'Mateo','Ingrid','Tomasz','Yara','Omar','Chen','Aiko','Rafael','Nadia','Elena','Marco',
		'Fatima','Henrik','Zara','Ravi','Olga','Pedro','Lena','Ibrahim','Mei','Sven','Anya',
		'Kofi','Hana'] AS first,
	  ARRAY['Okafor','Lindqvist','Moreau','Tanaka','Kowalski','Haddad','Fernandes','Novak',
		'Ivanova','Schmidt','Rossi','Nakamura','Mensah','Dubois','Petrov','Larsen','Costa',
		'Yilmaz','Nguyen','Kaur','Silva','Andersen','Horvat','Jansen','Kimura','Bauer','Greco',
		'Popescu','Svensson','Virtanen','Walsh','Quinn','Reyes','Abara','Brennan','Castillo',
		'Delacroix','Eriksen','Fitzgerald','Gallagher','Hoffmann','Ishikawa','Jovanovic',
		'Kristensen','Lombardi','Mwangi','Nieminen','Oyelaran','Pereira','Rahman','Sato',
		'Takahashi','Ueda','Vasquez','Wojcik','Xu','Yamamoto','Zielinski','Achebe','Bianchi',
		'Chowdhury','Dimitrov','Esposito','Farouk','Gupta','Halvorsen','Ibarra','Jensen',
		'Kaplan','Lindgren','Marino','Nowak','Olsen','Park','Quispe','Romano','Santos','Tran',
		'Umarov','Volkov'] AS last
), base AS (
	SELECT coalesce(max(substr(isbn, 4, 9)::bigint), 0) AS k
	FROM books WHERE isbn >= '979' AND isbn < '980'
), gen AS (
	SELECT g, '979' || lpad((base.k + g)::text, 9, '0') AS d12
	FROM base, generate_series(1, :n::bigint) AS g
)
INSERT INTO books (title, author, isbn, price, quantity, description, created_at, updated_at)
SELECT
	w.adj[1 + g % 50] || ' ' || w.noun[1 + (g / 50) % 40] || ' of ' || w.topic[1 + (g / 2000) % 50],
	w.first[1 + g % 64] || ' ' || w.last[1 + (g / 64) % 80],
	d12 || ((10 - ((substr(d12, 1, 1)::int + substr(d12, 3, 1)::int + substr(d12, 5, 1)::int
		       + substr(d12, 7, 1)::int + substr(d12, 9, 1)::int + substr(d12, 11, 1)::int)
		      + 3 * (substr(d12, 2, 1)::int + substr(d12, 4, 1)::int + substr(d12, 6, 1)::int
			     + substr(d12, 8, 1)::int + substr(d12, 10, 1)::int
			     + substr(d12, 12, 1)::int)) % 10) % 10)::text,
	(500 + (g * 7919) % 15000) / 100.0,
	CASE WHEN g % 20 = 0 THEN 0 ELSE (g * 31) % 100 END,
	CASE WHEN g % 3 = 0 THEN NULL ELSE 'Synthetic book number ' || g || ' for benchmarks.' END,
	now() - make_interval(secs => (g * 37) % 31536000),
	now() - make_interval(secs => (g * 37) % 31536000)
FROM gen, words w
ON CONFLICT (isbn) DO NOTHING;
SQL
if [ "$dropped" = 1 ]; then
	trap - EXIT
	rebuild || { echo "gen-books.sh: index rebuild failed" >&2; exit 1; }
fi
# VACUUM sets the visibility map, so counts over index ranges (price filters) stay index-only.
psql "$url" -v ON_ERROR_STOP=1 -q -c "VACUUM (ANALYZE) books"
echo "gen-books.sh: added up to $n books in $(( $(date +%s) - start )) s" >&2
