#!/bin/bash
# threadstat.sh PID [SECS [RATE]]: runs bench-baseline against wallet-core (port 21080,
# closed loop when RATE is 0) and prints, per thread of PID, its CPU per 1,000 committed
# transfers (= µs per transfer) and its context switches per transfer.
PID=$1; SECS=${2:-10}; RATE=${3:-0}
snap() {
  for t in /proc/$PID/task/*; do
    read -r -a f < $t/stat
    echo "${t##*/} $(cat $t/comm) $((f[13] + f[14])) ${f[13]} ${f[14]}" \
      "$(awk '/^voluntary/{v=$2} /^nonvoluntary/{n=$2} END{print v, n}' $t/status)"
  done | sort
}
committed() { curl -s 127.0.0.1:21080/metrics | awk '$1=="transfers_committed_total"{print $2}'; }
a=$(snap); c0=$(committed)
/work/main/build-release/bench-baseline paced 21080 $RATE $SECS 32 10000
b=$(snap); c1=$(committed)
n=$((${c1%.*} - ${c0%.*}))
echo "transfers=$n"
# fields: tid comm cpu user sys vol nonvol | comm cpu user sys vol nonvol
join <(echo "$a") <(echo "$b") | awk -v n=$n '{
  d = $9 - $3; du = $10 - $4; ds = $11 - $5; v = $12 - $6; nv = $13 - $7
  tot += d; tu += du; ts += ds; tv += v; tn += nv
  if (d > 0 || v > 10)
    printf "%-8s %-13s %5.1f ms/1k (user %.1f sys %.1f)  switches %.2f vol %.2f nonvol\n",
           $1, $2, d * 10000 / n, du * 10000 / n, ds * 10000 / n, v / n, nv / n
} END {
  printf "TOTAL %.1f ms/1k = %.2f s/10k (user %.2f sys %.2f), switches %.2f vol %.2f nonvol per transfer\n",
         tot * 10000 / n, tot * 100 / n, tu * 100 / n, ts * 100 / n, tv / n, tn / n
}'
