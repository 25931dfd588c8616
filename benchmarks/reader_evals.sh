#!/usr/bin/env bash
# The reader's figures (docs/reader.md "Through Engine.ask"): every dev half, default (the reader on) vs reader-off.
# Needs benchmarks/work/{facqa,rtqa,idmt,rgb}-dev-lgo (leavegoldout.py; training.rgb_set). Then:
#   python benchmarks/reader_report.py facqa=benchmarks/work/eval2/facqa ...
set -u
cd "$(dirname "$0")/.."
W=benchmarks/work
export NEWSBOT_CACHE_DIR=benchmarks/cache NEWSBOT_DATA_DIR=$W/eval-data
run() { name=$1; shift; echo "== $name $(date +%T)"; .venv/bin/newsbot eval "$@" --k 10 --config default,reader-off --out $OUT/$name > $OUT/$name.log 2>&1; echo "rc $? $(date +%T)"; }
OUT=${OUT:-$W/eval2}
mkdir -p $OUT
run facqa --articles $W/facqa-dev-lgo/articles.jsonl --questions $W/facqa-dev-lgo/questions.jsonl
run rtqa --articles $W/rtqa-dev-lgo/articles.jsonl --questions $W/rtqa-dev-lgo/questions.jsonl
run own --articles samples/articles.jsonl --questions samples/questions.jsonl
run rgb --articles $W/rgb-dev-lgo/articles.jsonl --questions $W/rgb-dev-lgo/questions.jsonl
run idmt --articles $W/idmt-dev-lgo/articles.jsonl --questions $W/idmt-dev-lgo/questions.jsonl --limit 700
run mixed --articles $W/idmt-dev-lgo/articles.jsonl --articles $W/rtqa-dev-lgo/articles.jsonl --questions $W/idmt-dev-lgo/questions.jsonl --limit 700
echo done
