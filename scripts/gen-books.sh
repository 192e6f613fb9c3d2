#!/usr/bin/env bash
# gen-books.sh N [DATABASE_URL] - adds N synthetic books to a migrated catalogue, then VACUUM ANALYZE.
#
# One INSERT ... SELECT over generate_series. For large N (>= 100000) the secondary indexes of
# books are dropped first and rebuilt afterwards from their own definitions, two at a time
# (rebuilding is several times faster than maintaining three trigram indexes row by row): about
# 40-50 s for 1,000,000 books on 2 cores, most of it the trigram index builds. If the script is
# interrupted, the EXIT trap still recreates any missing index.
# Books get valid, unique ISBN-13s (prefix 979, numbered after the highest one already present,
# so the script can be run again), prices 5.00-154.99, quantities 0-99 (about 1 in 20 out of
# stock) and creation times spread over the past year.
# Titles and authors mix a small common vocabulary with a long tail, as a real catalogue does:
# 30 % of titles are "<Adjective> <Noun> of <Topic>" (50 x 40 x 50 common English words), the
# rest combine those words with made-up pronounceable words ("The Brailor Lighthouse", "Quenthu
# Drasel", "Tiny Maprix of Go") drawn from ~150,000 with a Zipf-like skew (the most frequent
# appear in thousands of titles, most in a handful). Authors: a first name from 64 common ones or
# ~3,000 made-up ones, and a surname from 80 common ones (20 %) or ~200,000 made-up ones (skewed):
# a few hundred thousand distinct names, a few books each, like a real catalogue. (An earlier
# version used only the 50 x 40 x 50 titles and 5,120 author names: every trigram then sat in
# 20,000-60,000 rows, which no real catalogue looks like, and trigram searches were slow
# whatever the term.) The output is deterministic (setseed) for a given N on an empty table.
# The database URL defaults to $DATABASE_URL.
set -euo pipefail
n=${1:?usage: gen-books.sh N [DATABASE_URL]}
url=${2:-${DATABASE_URL:?usage: gen-books.sh N [DATABASE_URL]}}
case "$n" in ''|*[!0-9]*) echo "gen-books.sh: N must be a non-negative integer" >&2; exit 2 ;; esac

start=$(date +%s)
# "name<TAB>CREATE INDEX IF NOT EXISTS ..." for every index but the primary key and isbn unique.
defs=$(psql "$url" -v ON_ERROR_STOP=1 -Atq -c "SELECT indexname || E'\t' ||
	replace(indexdef, 'CREATE INDEX ', 'CREATE INDEX IF NOT EXISTS ') FROM pg_indexes
	WHERE schemaname = current_schema() AND tablename IN ('books', 'books_text')
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
\o /dev/null
SELECT setseed(0.4242);
\o
-- word(k): the k-th of 484,416 pronounceable made-up words (two syllables plus a coda, e.g.
-- "Brailor", "Quenthu"), standing in for the long tail of a real catalogue's vocabulary (proper
-- names, rarer words). k is scrambled first so that neighbouring ranks share no syllables.
CREATE FUNCTION pg_temp.word(k bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT initcap(o[1 + x % 29] || v[1 + (x / 29) % 8] || o[1 + (x / 232) % 29]
		       || v[1 + (x / 6728) % 8] || c[1 + (x / 53824) % 9])
	FROM (SELECT (k * 104729) % 484416 AS x,
		     ARRAY['b','br','c','ch','d','dr','f','g','gr','h','j','k','kr','l','m','n','p',
			   'pr','qu','r','s','sh','st','t','th','tr','v','w','z'] AS o,
		     ARRAY['a','e','i','o','u','ai','ou','ei'] AS v,
		     ARRAY['','n','r','l','s','th','m','x','nd'] AS c) s
$$;
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
	-- Word ranks with a long tail (density ~ rank^-2/3 for titles, ^-1/2 for surnames).
	SELECT g, '979' || lpad((base.k + g)::text, 9, '0') AS d12,
	       floor(150000 * random() ^ 3)::bigint AS z1, floor(150000 * random() ^ 3)::bigint AS z2,
	       250000 + floor(200000 * random() ^ 2)::bigint AS zs
	FROM base, generate_series(1, :n::bigint) AS g
)
INSERT INTO books (title, author, isbn, price, quantity, description, created_at, updated_at)
SELECT
	CASE WHEN g % 10 < 3 THEN w.adj[1 + g % 50] || ' ' || w.noun[1 + (g / 50) % 40] || ' of '
				  || w.topic[1 + (g / 2000) % 50]
	     WHEN g % 10 < 6 THEN 'The ' || pg_temp.word(z1) || ' ' || w.noun[1 + (g / 50) % 40]
	     WHEN g % 10 < 8 THEN pg_temp.word(z1) || ' ' || pg_temp.word(z2)
	     WHEN g % 10 = 8 THEN w.adj[1 + g % 50] || ' ' || pg_temp.word(z1) || ' of '
				  || w.topic[1 + (g / 2000) % 50]
	     ELSE pg_temp.word(z1) || ': ' || w.adj[1 + g % 50] || ' ' || w.noun[1 + (g / 50) % 40] END,
	CASE WHEN g % 2 = 0 THEN w.first[1 + (g / 2) % 64] ELSE pg_temp.word(200000 + (g * 7) % 3000) END
	|| ' ' || CASE WHEN g % 5 = 0 THEN w.last[1 + (g / 64) % 80] ELSE pg_temp.word(zs) END,
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
