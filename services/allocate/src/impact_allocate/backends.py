"""Exact MILPs with CBC (via PuLP's model and files), under a hard deadline.

Only the free binaries reach the solver, as variables ``x_<index>`` (never initiative
ids). CBC runs as a child process that this module starts, waits for and, at the
deadline, terminates: CBC gets the time left minus a margin as its own limit (it then
stops and writes its best solution) and is killed if it is still running at the deadline.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pulp

from impact_allocate.deadline import Deadline
from impact_allocate.program import BinaryProgram, FloatArray

#: Status names reported as ``solver_status``.
OPTIMAL = "Optimal"
INFEASIBLE = "Infeasible"
TIME_LIMIT = "TimeLimit"
NOT_SOLVED = "NotSolved"

#: Seconds before the deadline at which CBC is asked to stop by itself.
MARGIN_S = 0.3
#: Seconds CBC gets after SIGINT before it is killed.
GRACE_S = 0.2
#: Seconds PuLP needs per nonzero to build the model and write its MPS file (measured
#: about 1e-5 on a loaded 2-core machine); no CBC run starts without time for that.
BUILD_S_PER_NONZERO = 2e-5


@dataclass(frozen=True)
class MilpResult:
    """A MILP outcome: status, the full 0/1 vector ``x`` (fixed + free), objective."""

    status: str
    x: FloatArray | None
    objective: float | None


def solve_milp(
    program: BinaryProgram,
    fixed: Mapping[int, int],
    deadline: Deadline,
    warm_start: FloatArray | None = None,
    threads: int = 1,
) -> MilpResult:
    """Solve exactly with CBC (relative and absolute gap 0) over the free binaries."""
    free = [i for i in range(program.n_binary) if i not in fixed]
    x_fixed = np.zeros(program.n_binary)
    for index, fixed_value in fixed.items():
        x_fixed[index] = fixed_value
    if not free:
        value = program.value(x_fixed, tol=1e-9 * program.scale)
        status = OPTIMAL if value is not None else INFEASIBLE
        return MilpResult(status, x_fixed if value is not None else None, value)
    nonzeros = int(np.count_nonzero(program.rows[:, free])) + len(free)
    if deadline.left() <= MARGIN_S + 0.2 + BUILD_S_PER_NONZERO * nonzeros:
        return MilpResult(TIME_LIMIT, None, None)
    constant_rows = program.rows[:, : program.n_binary] @ x_fixed
    constant_objective = float(program.objective[: program.n_binary] @ x_fixed)
    model = pulp.LpProblem("portfolio", pulp.LpMinimize)
    xs = {i: model.add_variable(f"x_{i}", 0, 1, cat=pulp.LpBinary) for i in free}
    t = model.add_variable("t", lowBound=0) if program.has_t else None

    def expression(coefficients: FloatArray, constant: float) -> pulp.LpAffineExpression:
        terms = [(xs[i], float(coefficients[i])) for i in free if coefficients[i] != 0.0]
        if t is not None and coefficients[-1] != 0.0:
            terms.append((t, float(coefficients[-1])))
        return pulp.LpAffineExpression(terms, constant=constant)

    model += expression(program.objective, constant_objective)
    for k, row in enumerate(program.rows):
        model += expression(row, 0.0) <= float(program.rhs[k] - constant_rows[k]), f"r_{k}"
    if warm_start is not None:
        for i in free:
            xs[i].setInitialValue(int(warm_start[i] > 0.5))
    finished = run_cbc(model, deadline, warm_start is not None, threads)
    return _read(model, program, xs, x_fixed, finished)


def run_cbc(model: pulp.LpProblem, deadline: Deadline, warm: bool, threads: int) -> bool:
    """Solve ``model`` with CBC in a child process; ``True`` if CBC ended on its own
    (proven or stopped by its time limit), ``False`` if it had to be killed."""
    solver = pulp.PULP_CBC_CMD(msg=False)
    with tempfile.TemporaryDirectory(prefix="allocate-cbc-") as folder:
        files = Path(folder)
        mps, sol, mst = (str(files / name) for name in ("model.mps", "model.sol", "start.mst"))
        variables, names, constraints, _ = model.writeMPS(mps, rename=1)
        seconds = max(0.05, deadline.left() - MARGIN_S)
        args = [solver.path, mps, "-sec", f"{seconds:.3f}", "-timeMode", "elapsed"]
        args += ["-ratio", "0", "-allow", "0"]
        if threads > 1:  # CBC's threaded mode, even with one thread, can deadlock at start
            args += ["-threads", str(threads)]
        if warm:
            solver.writesol(mst, model, variables, names, constraints)
            args += ["-mips", mst]
        args += ["-solve", "-printingOptions", "all", "-solution", sol]
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        finished = _wait(process, deadline)
        if not Path(sol).exists():
            model.assignStatus(pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound)
            return finished
        status, values, _, _, _, sol_status = solver.readsol_MPS(
            sol, model, variables, names, constraints
        )
        model.assignVarsVals(values)
        model.assignStatus(status, sol_status)
        return finished


def _wait(process: subprocess.Popen[bytes], deadline: Deadline) -> bool:
    """Wait for CBC until the deadline; then interrupt it, and kill it if it lingers."""
    try:
        process.wait(timeout=deadline.left())
        return True
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return False
    finally:
        if process.poll() is None:  # an exception in this thread: never leave CBC behind
            process.kill()
            process.wait()


def _read(
    model: pulp.LpProblem,
    program: BinaryProgram,
    xs: Mapping[int, pulp.LpVariable],
    x_fixed: FloatArray,
    finished: bool,
) -> MilpResult:
    if model.status == pulp.LpStatusInfeasible and finished:
        return MilpResult(INFEASIBLE, None, None)
    has_solution = model.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if not has_solution:
        stopped = not finished or model.status == pulp.LpStatusNotSolved
        return MilpResult(TIME_LIMIT if stopped else NOT_SOLVED, None, None)
    x = x_fixed.copy()
    for i, variable in xs.items():
        x[i] = 1.0 if (variable.value() or 0.0) > 0.5 else 0.0
    proven = finished and model.sol_status == pulp.LpSolutionOptimal
    value = program.value(x, tol=1e-6 * program.scale)
    return MilpResult(OPTIMAL if proven else TIME_LIMIT, x, value)
