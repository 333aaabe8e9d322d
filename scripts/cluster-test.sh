#!/usr/bin/env bash
# scripts/cluster-test.sh: "isingflow scan plan/run/collect" run for real,
# through GNU parallel and through a single-node Slurm that this script
# starts on this machine (munged, slurmctld and slurmd from Debian's munge
# and slurm-wlm, installed with apt-get when missing and root), on tiny
# plans of L = 4 (three temperatures, two seeds, a small model: seconds).
#
#   1. GNU parallel runs a plan's tasks with the line of "isingflow scan
#      parallel"; collect finds every point.
#   2. A task is killed with SIGKILL mid-training; running the same line
#      again reruns only that task, which resumes the killed point from its
#      checkpoint: every point completes, one training history per point,
#      the other task's results untouched.
#   3. A task sent SIGTERM stops with a checkpoint and exit status 75, and
#      a second run completes it.
#   4. Slurm runs the job-array script of "isingflow scan slurm" (sbatch);
#      then a task is sent Slurm's SIGTERM (scancel --batch), ends with 75,
#      and the script submitted again completes the plan.
#
# Where Slurm cannot start (no packages and no root, no munged, a daemon
# that does not come up) the script says exactly why and skips part 4:
# that alone is not a failure. It stops the daemons it started. The last
# line is "cluster-test: N passed, M failed"; the exit status is 1 when
# M > 0. KEEP=1 keeps the work directory. About a minute on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "cluster-test: ok   $*"; }
fail() { failed=$((failed + 1)); echo "cluster-test: FAIL $*"; }
note() { echo "cluster-test: $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

work=$(mktemp -d "${TMPDIR:-/tmp}/isingflow-cluster.XXXXXX")
daemons=() # "name pid" of every daemon started here, in start order
slurm_conf=""

cleanup() {
	if [ -n "$slurm_conf" ] && command -v scancel >/dev/null; then
		SLURM_CONF=$slurm_conf scancel --quiet --user "$(id -un)" 2>/dev/null || true
		for _ in $(seq 20); do [ -z "$(SLURM_CONF=$slurm_conf squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
	fi
	local i
	for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do
		set -- ${daemons[i]}
		if kill "$2" 2>/dev/null; then
			for _ in $(seq 50); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "$2" 2>/dev/null && note "$1 (pid $2) did not stop on SIGTERM: killed"
		fi
	done
	daemons=()
	if [ "${KEEP:-0}" = 1 ]; then
		note "work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

finish() {
	echo "cluster-test: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

start=$(date +%s)
bin=$work/bin/isingflow
if ! go build -o "$bin" ./cmd/isingflow; then
	fail "go build ./cmd/isingflow"
	finish
fi
# A model that trains a step in milliseconds (tinyModel of the command's tests).
tiny=(-L 4 -T 2.2,2.3,2.4 --seeds 2 --potential dense --hidden 8 --flow-steps 4 --lr 1e-2 --samples 300)

# plan DIR ARGS...: a plan of the tiny model.
plan() {
	local dir=$1
	shift
	"$bin" scan plan --out "$dir" "${tiny[@]}" "$@" >"$dir.plan.out" 2>&1 || { cat "$dir.plan.out"; return 1; }
}

# quiet FILE COMMAND...: run the command with its output in FILE.
quiet() {
	local out=$1
	shift
	"$@" >"$out" 2>&1
}

# lines FILE: the number of lines of FILE (0 when it does not exist).
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# wait_lines FILE N SECONDS: wait until FILE has N lines.
wait_lines() {
	local deadline=$(($(date +%s) + $3))
	while [ "$(lines "$1")" -lt "$2" ]; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# task_pid DIR I: the process of task I, from its status.json.
task_pid() { sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$1/tasks/$2/status.json" 2>/dev/null; }

# collect_ok DIR: every point of the plan is complete.
collect_ok() { "$bin" scan collect --strict "$1" >"$1.collect.out" 2>&1 || { cat "$1.collect.out"; return 1; }; }

# steps_in_order FILE N: a training log holds the steps 0 … N−1 once each, in order.
steps_in_order() {
	sed -n 's/^{"step":\([0-9]*\),.*/\1/p' "$1" | awk -v n="$2" '$1 != NR - 1 { bad = 1 } END { exit (bad || NR != n) }'
}

# resumed_from FILE: the resumed_from_step of a result.json (0 when absent).
resumed_from() { sed -n 's/.*"resumed_from_step": \([0-9]*\).*/\1/p' "$1" | grep . || echo 0; }

# ensure_packages PACKAGE...: install the Debian packages that are missing
# (as root, with apt-get); prints why not on failure.
ensure_packages() {
	local missing=()
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "the Debian packages ${missing[*]} are missing and this is not root with apt-get"
		return 1
	fi
	note "installing ${missing[*]} with apt-get" >&2
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$work/apt.log" 2>&1; then
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >>"$work/apt.log" 2>&1 || {
			echo "apt-get install ${missing[*]} failed: $(tail -1 "$work/apt.log")"
			return 1
		}
	fi
}

export GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1

# ---- 1 and 2: GNU parallel, and a task killed with SIGKILL -------------------
if why=$(ensure_packages parallel) && command -v parallel >/dev/null; then
	A=$work/parallel
	if plan "$A" --iterations 40 --warm-iterations 20; then
		line=$("$bin" scan parallel "$A" --jobs 2 --isingflow "$bin")
		check "GNU parallel runs the plan's 2 tasks" bash -c "$line"
		check "collect finds the 6 points of the parallel run" collect_ok "$A"
		check "results.csv has a row per point" test "$(lines "$A/results.csv")" -eq 7
		check "collect drew the plots" test -s "$A/plots/scan_L4.png" -a -s "$A/plots/cmax.png" -a -s "$A/plots/binder.png"
	else
		fail "scan plan for GNU parallel"
	fi

	K=$work/kill
	if plan "$K" --iterations 600 --warm-iterations 100 --checkpoint-every 10; then
		line=$("$bin" scan parallel "$K" --jobs 2 --isingflow "$bin")
		bash -c "$line" &
		runner=$!
		first=$K/L4/seed1/T2.200000
		if wait_lines "$first/train.jsonl" 100 120 && pid=$(task_pid "$K" 0) && [ -n "$pid" ]; then
			kill -KILL "$pid"
			at=$(lines "$first/train.jsonl")
			note "killed task 0 (pid $pid) with SIGKILL at step $at of its first point"
			wait "$runner"
			check "GNU parallel reports the killed task as failed" test $? -ne 0
			"$bin" scan collect "$K" >"$K.collect1.out" 2>&1
			check "collect reports task 0 killed and its points missing" grep -q "task 0 (L = 4, seed 1): killed" "$K.collect1.out"
			# The points done so far are kept as they are.
			mkdir -p "$work/saved"
			saved=()
			for r in "$K"/L4/seed*/T*/result.json; do
				[ -f "$r" ] || continue
				s=$work/saved/$(echo "$r" | tr / _)
				cp "$r" "$s"
				saved+=("$r=$s")
			done
			check "running the same parallel line again succeeds" bash -c "$line"
			check "every point is complete after the rerun" collect_ok "$K"
			check "parallel reran only the killed task" test "$(grep -c -- '--task 1 ' "$K/logs/parallel.joblog")" -eq 1 -a "$(grep -c -- '--task 0 ' "$K/logs/parallel.joblog")" -eq 2
			from=$(resumed_from "$first/result.json")
			check "the killed point resumed from its checkpoint (step $from, killed at $at)" test "$from" -gt 0 -a "$from" -le "$at"
			check "the killed point's log holds steps 0 … 599 once each" steps_in_order "$first/train.jsonl" 600
			unchanged=true
			for p in "${saved[@]}"; do cmp -s "${p%%=*}" "${p#*=}" || unchanged=false; done
			check "the ${#saved[@]} points complete before the rerun are unchanged" $unchanged
		else
			kill "$runner" 2>/dev/null
			wait "$runner" 2>/dev/null
			fail "the kill test: task 0 did not get to step 100 within 2 minutes"
		fi
	else
		fail "scan plan for the kill test"
	fi
else
	note "GNU parallel is not available ($why): parts 1 and 2 are skipped"
fi

# ---- 3: SIGTERM, the signal of a scheduler's time limit -----------------------
S=$work/term
if plan "$S" --iterations 600 --warm-iterations 100 --checkpoint-every 10; then
	"$bin" scan run "$S" --task 1 >"$S.run1.out" 2>&1 &
	runner=$!
	if wait_lines "$S/L4/seed2/T2.200000/train.jsonl" 50 120; then
		kill -TERM "$runner"
		wait "$runner"
		status=$?
		check "SIGTERM ends a task with status 75 (incomplete)" test $status -eq 75
		check "its status says interrupted" grep -q '"state": "interrupted"' "$S/tasks/1/status.json"
		check "the interrupted point was evaluated and marked incomplete" grep -q '"stop": "interrupted"' "$S/L4/seed2/T2.200000/result.json"
		check "a second run completes the task" quiet "$S.run2.out" "$bin" scan run "$S" --task 1
		check "it resumed the interrupted point" grep -q "T = 2.2 (1 of 3), resumed from its checkpoint" "$S.run2.out"
	else
		kill "$runner" 2>/dev/null
		wait "$runner" 2>/dev/null
		fail "the SIGTERM test: the task did not get to step 50 within 2 minutes"
	fi
else
	fail "scan plan for the SIGTERM test"
fi

# ---- 4: Slurm -----------------------------------------------------------------
# start_slurm: munged, slurmctld and slurmd on this machine, with their own
# socket, ports and state under $work/slurm; prints why not on failure.
start_slurm() {
	local why
	why=$(ensure_packages munge slurm-wlm slurm-client) || { echo "$why"; return 1; }
	for c in munged mungekey slurmctld slurmd sbatch squeue scontrol sinfo; do
		command -v "$c" >/dev/null || { echo "$c is not installed"; return 1; }
	done
	local d=$work/slurm host ports p1 p2
	mkdir -p "$d/munge" "$d/sock" "$d/state" "$d/spool" || return 1
	chmod 700 "$d/munge"
	# munged wants every directory above its socket searchable by all.
	chmod 755 "$work" "$d" "$d/sock"
	host=$(hostname -s)
	mungekey --create --keyfile="$d/munge/munge.key" >"$d/mungekey.log" 2>&1 || {
		echo "mungekey failed: $(tail -1 "$d/mungekey.log")"
		return 1
	}
	munged --foreground --socket="$d/sock/munge.socket" --key-file="$d/munge/munge.key" \
		--pid-file="$d/munge/munged.pid" --log-file="$d/munged.log" --seed-file="$d/munge/munged.seed" \
		>"$d/munged.out" 2>&1 &
	daemons+=("munged $!")
	for _ in $(seq 50); do [ -S "$d/sock/munge.socket" ] && break; sleep 0.1; done
	if ! munge -n --socket="$d/sock/munge.socket" | unmunge --socket="$d/sock/munge.socket" >/dev/null 2>&1; then
		echo "munged did not start: $(grep -h -i error "$d/munged.out" "$d/munged.log" 2>/dev/null | tail -1)"
		return 1
	fi
	# Two free ports, so that another Slurm on the machine is left alone.
	ports=$(ss -Htln 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }')
	for p1 in $(shuf -i 20000-60000 -n 50); do
		p2=$((p1 + 1))
		grep -qx "$p1" <<<"$ports" || grep -qx "$p2" <<<"$ports" || break
	done
	slurm_conf=$d/slurm.conf
	cat >"$slurm_conf" <<-EOF
		ClusterName=isingflowtest
		SlurmctldHost=$host(127.0.0.1)
		SlurmctldPort=$p1
		SlurmdPort=$p2
		AuthType=auth/munge
		AuthInfo=socket=$d/sock/munge.socket
		CredType=cred/munge
		SlurmUser=$(id -un)
		SlurmdUser=$(id -un)
		StateSaveLocation=$d/state
		SlurmdSpoolDir=$d/spool
		SlurmctldPidFile=$d/slurmctld.pid
		SlurmdPidFile=$d/slurmd.pid
		SlurmctldLogFile=$d/slurmctld.log
		SlurmdLogFile=$d/slurmd.log
		ProctrackType=proctrack/linuxproc
		TaskPlugin=task/none
		SchedulerType=sched/builtin
		SelectType=select/cons_tres
		SelectTypeParameters=CR_CPU
		ReturnToService=2
		MpiDefault=none
		JobAcctGatherType=jobacct_gather/none
		AccountingStorageType=accounting_storage/none
		JobCompType=jobcomp/none
		KillWait=10
		NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
		PartitionName=isingflowtest Nodes=$host Default=YES MaxTime=INFINITE State=UP
	EOF
	export SLURM_CONF=$slurm_conf
	slurmctld -D -f "$slurm_conf" >"$d/slurmctld.out" 2>&1 &
	daemons+=("slurmctld $!")
	for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
	if ! scontrol ping 2>/dev/null | grep -q UP; then
		echo "slurmctld did not come up: $(grep -h -i -E 'error|fatal' "$d/slurmctld.out" "$d/slurmctld.log" 2>/dev/null | tail -1)"
		return 1
	fi
	slurmd -D -f "$slurm_conf" -N "$host" >"$d/slurmd.out" 2>&1 &
	daemons+=("slurmd $!")
	for _ in $(seq 150); do sinfo -h -N -o %T 2>/dev/null | grep -q -E '^(idle|mixed|allocated)' && return 0; sleep 0.2; done
	echo "slurmd did not register its node within 30 s (sinfo: $(sinfo -h -N -o %T 2>&1 | head -1)): $(grep -h -i -E 'fatal|error' "$d/slurmd.out" "$d/slurmd.log" 2>/dev/null | grep -v -i pmix | tail -1)"
	return 1
}

# wait_job JOBID SECONDS: wait until no element of the job is pending or running.
wait_job() {
	local deadline=$(($(date +%s) + $2))
	while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ]; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

# job_field JOBID KEY: a field of "scontrol show job" (ExitCode=75:0 → 75:0).
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }

# Not in a subshell: the daemons and SLURM_CONF must stay in this shell.
if start_slurm >"$work/slurm-why.txt"; then
	note "Slurm is running: slurmctld and slurmd of $(slurmd -V 2>/dev/null) on $(hostname -s), $(nproc) CPUs"
	B=$work/slurm-plan
	if plan "$B" --iterations 40 --warm-iterations 20; then
		"$bin" scan slurm "$B" --cpus-per-task 1 --isingflow "$bin" >"$B.sh"
		if jid=$(sbatch --parsable "$B.sh" 2>"$B.sbatch.err"); then
			note "submitted job array $jid ($(sed -n 's/^#SBATCH --array=//p' "$B.sh"))"
			check "the Slurm job array finishes" wait_job "$jid" 180
			check "both array elements completed" test "$(job_field "${jid}_0" JobState)" = COMPLETED -a "$(job_field "${jid}_1" JobState)" = COMPLETED
			check "collect finds the 6 points of the Slurm run" collect_ok "$B"
			check "the tasks ran as Slurm array elements" grep -q "\"scheduler\": \"slurm job ${jid}_1" "$B/tasks/1/status.json"
		else
			fail "sbatch: $(cat "$B.sbatch.err")"
		fi
	else
		fail "scan plan for Slurm"
	fi

	C=$work/slurm-signal
	if plan "$C" --iterations 600 --warm-iterations 100 --checkpoint-every 10; then
		"$bin" scan slurm "$C" --cpus-per-task 1 --isingflow "$bin" >"$C.sh"
		if jid=$(sbatch --parsable "$C.sh" 2>"$C.sbatch.err"); then
			if wait_lines "$C/L4/seed1/T2.200000/train.jsonl" 50 120; then
				scancel --batch --signal=TERM "${jid}_0"
				check "the signalled job array finishes" wait_job "$jid" 180
				check "Slurm records exit status 75 for the signalled task" test "$(job_field "${jid}_0" ExitCode)" = 75:0
				check "the signalled task's status says interrupted" grep -q '"state": "interrupted"' "$C/tasks/0/status.json"
				check "the other task completed" test "$(job_field "${jid}_1" JobState)" = COMPLETED
				if jid2=$(sbatch --parsable "$C.sh" 2>"$C.sbatch.err"); then
					check "the same script submitted again finishes" wait_job "$jid2" 180
					check "every point is complete after the resubmission" collect_ok "$C"
					check "the signalled point resumed from its checkpoint" test "$(resumed_from "$C/L4/seed1/T2.200000/result.json")" -gt 0
				else
					fail "sbatch again: $(cat "$C.sbatch.err")"
				fi
			else
				fail "the Slurm signal test: task 0 did not get to step 50 within 2 minutes ($(job_field "${jid}_0" JobState))"
			fi
		else
			fail "sbatch: $(cat "$C.sbatch.err")"
		fi
	else
		fail "scan plan for the Slurm signal test"
	fi
else
	note "Slurm could not start, its part is skipped: $(cat "$work/slurm-why.txt")"
fi

note "$(($(date +%s) - start)) s"
finish
