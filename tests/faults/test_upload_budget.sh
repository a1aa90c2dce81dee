#!/usr/bin/env bash
# Uploads for real, on the virtual clock against ant-sim (content-addressed,
# dedup as the network does it): a repeating upload task of an hour whose
# uploads would cost more than UPLOAD_BUDGET_DAY. Each upload sends content
# of its own (every paid address differs); spending stops at the budget and
# the uploads after it are recorded as skipped with reason budget; the
# agent is SIGKILLed in the middle and restarted: the ledger then sums to
# what ant-sim charged, no payment twice, none forgotten. status shows the
# spend, report the spend per day. Without a budget nothing is uploaded.
source "$(dirname "$0")/lib.sh"
fleet_init
export ANT_SIM_CHARGES="$work/charges.log"
: > "$ANT_SIM_CHARGES"
{
  echo "<Schedule>"
  task 008 8 upload tiny 1 true
  echo "</Schedule>"
} > control.xml
# ant-sim charges 4 * 10^12 atto for a tiny public upload (3 chunks and a
# data map). With a known price an upload reserves 1.5 x 4 * 10^12, so a
# day budget of 3 * 10^13 allows 7 uploads: 2.8 * 10^13.
cat >> fleet.env <<X
ALLOW_UPLOADS=true
SECRET_KEY=0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
QUOTE_YIELD_SECS=60
MIN_FREE_MEM_MB=0
X
budget=30000000000000

# ---- No budget: ALLOW_UPLOADS alone uploads nothing ----
run_agent 2026-01-01T10:05:00Z 60 6m
expect_eq "$?" 0 "no budget: agent exit code"
expect_grep 'Upload budget: 0\.0 ANT \(0 atto\) a day, 0\.0 ANT \(0 atto\) a month: no uploads, although ALLOW_UPLOADS=true' agent.log "start-up line: no budget"
expect_eq "$(grep -c ' file upload ' sim.log)" 0 "no budget: no upload ran"
expect_grep ',task=008,status=skipped .*reason_code="budget"' cache/metrics.csv "no budget: skip recorded with reason budget"
rm -rf cache
: > sim.log

# ---- A budget smaller than the hour's uploads, SIGKILL in the middle ----
cat >> fleet.env <<X
UPLOAD_BUDGET_DAY=$budget atto
UPLOAD_BUDGET_MONTH=0.001
X
# Each client call takes 1.5 s (real) here, so the SIGKILL can land while
# an upload client runs: after three payments, as soon as the next upload
# is under way (its hold written, its payment not yet).
ANT_SIM_LATENCY_MS=1500 start_agent 2026-01-01T10:05:00Z 60
for _ in $(seq 900); do
  p=$(grep -c "^pay1 " cache/ledger.log 2>/dev/null || true)
  h=$(grep -c "^hold1 " cache/ledger.log 2>/dev/null || true)
  [ "${p:-0}" -ge 3 ] && [ "${h:-0}" -gt "${p:-0}" ] && break
  sleep 0.05
done
{ kill -KILL "$agent_pid"; wait "$agent_pid"; } 2>/dev/null
agent_pid=""
paid_before=$(grep -c '^pay1 ' cache/ledger.log)
if [ "$paid_before" -ge 3 ]; then ok; else bad "only $paid_before payments before the SIGKILL"; fi
# A client the agent started keeps running in its own session: it pays.
sleep 4
mv agent.log agent-1.log
run_agent 2026-01-01T10:20:00Z 120 38m
expect_eq "$?" 0 "restart: agent exit code"
expect_grep "Upload budget: 0\.00003 ANT \($budget atto\) a day, 0\.001 ANT \(1000000000000000 atto\) a month; spent 0\.0000[0-9]+ ANT today" agent.log "start-up line: budget and the spend read back"

# pay1 TIME TASK SIZE ID ATTO GAS CHUNKS ADDRESS CRC; hold1 TIME TASK SIZE ID
# ESTIMATE CRC; free1 TIME ID CRC (docs/UPLOADS.md).
pay_sum() { awk '/^pay1 /{ s += $6 } END { printf "%.0f", s }' cache/ledger.log; }
hold_sum() { awk '/^hold1 /{ h[$5] = $6 } /^(pay1|free1) /{ id = ($1 == "pay1") ? $5 : $3; delete h[id] } END { s = 0; for (k in h) s += h[k]; printf "%.0f", s }' cache/ledger.log; }
charged=$(awk '{ s += $1 } END { printf "%.0f", s }' charges.log)
charges=$(wc -l < charges.log)
pays=$(grep -c '^pay1 ' cache/ledger.log)
open_holds=$(awk '/^hold1 /{ h[$5] = 1 } /^(pay1|free1) /{ id = ($1 == "pay1") ? $5 : $3; delete h[id] } END { n = 0; for (k in h) n++; print n }' cache/ledger.log)
# Every charge has its payment line, but for a client that was cut off by
# the SIGKILL while it paid: that one is an open hold, counted at its
# estimate (never forgotten); none is there twice.
expect_eq "$((pays + open_holds >= charges))" 1 "every charge is a payment or an open hold ($pays + $open_holds vs $charges)"
expect_eq "$(awk '/^pay1 /{ print $5 }' cache/ledger.log | sort | uniq -d | wc -l)" 0 "no payment twice in the ledger"
if [ "$open_holds" -eq 0 ]; then
  expect_eq "$(pay_sum)" "$charged" "the ledger sums to what ant-sim charged"
else
  expect_eq "$(( $(pay_sum) + 4000000000000 * (charges - pays) ))" "$charged" "the ledger and the open hold's charge sum to what ant-sim charged"
fi
# Spending stopped at the budget; the uploads after it are skipped.
expect_eq "$((charged <= budget))" 1 "charged $charged within the day budget $budget"
expect_eq "$((charged >= budget - 12000000000000))" 1 "charged $charged: the budget, not something else, stopped the uploads"
skips=$(grep -c ',task=008,status=skipped .*reason_code="budget"' cache/metrics.csv)
if [ "$skips" -ge 1 ]; then ok; else bad "no upload skipped with reason budget"; fi
expect_grep 'skipped.*upload budget: today.s spend .* would pass UPLOAD_BUDGET_DAY' agent.log "the skip says which budget"
# New content every time: every paid address is different, and no upload
# found its content already stored.
expect_eq "$(awk '{ print $3 }' charges.log | sort | uniq -d | wc -l)" 0 "every paid upload stored other content"
expect_eq "$(grep ',task=008,status=ok ' cache/metrics.csv | grep -c 'already_stored=1i')" 0 "no upload was of stored content"
expect_eq "$(ls cache/seeds | wc -l)" 0 "upload content removed after use"
# Each upload point carries the day's spend after it.
last=$(grep ',task=008,status=ok ' cache/metrics.csv | tail -1 | sed -nE 's/.*spent_today_atto=([0-9]+)i.*/\1/p')
expect_eq "$((last > 0 && last <= budget))" 1 "upload point carries spent_today_atto ($last)"
# status and report read the same ledger.
expect_eq "$(status_get spend.spent_today_atto)" "$(( $(pay_sum) + $(hold_sum) ))" "status: spent today (payments and open holds)"
expect_eq "$(status_get spend.budget_day_atto)" "$budget" "status: day budget"
"$agent" status --env-file fleet.env > status.txt 2>&1
expect_grep '^  Spend       : today 0\.0000[0-9]+ of 0\.00003 ANT \(0\.[0-9]+ left\) \| this month' status.txt "status text: spend"
"$agent" report --env-file fleet.env > report.txt 2>&1
expect_grep "^2026-01-01 +$pays +$(pay_sum) " report.txt "report: spend per day"
finish
