#!/bin/bash
# record.sh PID OUTDIR: copies the /proc files jmigrate reads for PID into OUTDIR/PID, symlinks as a links.txt.
set -u
pid=$1; out=$2/$pid
mkdir -p "$out/fdinfo" "$out/task"
for f in maps smaps status stat limits comm personality auxv cmdline; do cat /proc/$pid/$f > "$out/$f"; done
for f in /proc/$pid/fdinfo/*; do cat "$f" > "$out/fdinfo/${f##*/}"; done
for t in /proc/$pid/task/*; do
  tid=${t##*/}; mkdir -p "$out/task/$tid"
  for f in children comm stat; do cat "$t/$f" > "$out/task/$tid/$f"; done
done
: > "$out/links.txt"
for l in cwd root exe; do printf '%s\t%s\n' "$l" "$(readlink /proc/$pid/$l)" >> "$out/links.txt"; done
for l in $(ls /proc/$pid/fd | sort -n); do printf 'fd/%s\t%s\n' "$l" "$(readlink /proc/$pid/fd/$l)" >> "$out/links.txt"; done
