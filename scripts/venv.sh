#!/usr/bin/env bash
# Create a virtual environment with chatspan (editable) and its test tools, for one openai version.
# usage: scripts/venv.sh DIR OPENAI_VERSION|newest
set -euo pipefail
dir=$1
version=$2
python=${PYTHON:-python3}
cd "$(dirname "$0")/.."
"$python" -m venv "$dir"
"$dir/bin/python" -m pip install --quiet --upgrade pip
if [ "$version" = newest ]; then
  spec="openai"
else
  spec="openai==$version"
fi
"$dir/bin/python" -m pip install --quiet --upgrade -e ".[test]" "$spec"
"$dir/bin/python" -c 'import openai, sys; print(f"{sys.argv[1]}: openai {openai.__version__}")' "$dir"
