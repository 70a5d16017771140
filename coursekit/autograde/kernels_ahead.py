"""One student's notebooks graded with their kernels started ahead, and one judge.

The pipeline grades a student's notebooks one after another, each in a kernel of its own
(nbgrade.GuardedKernelManager: its own jail, socket folder, guard log and copy of the staged
submission). Starting such a kernel until it answers takes about 0.6 s and a polite shut-down
0.2 s; a judge process (judge.JudgeProcess) per notebook costs its start too: a second or so per
notebook that is not the student's work. `StudentKernels` (one per student, for the notebook
loop: `student_kernels`) removes it:

- while notebook k runs, the kernel of the student's next notebook is started exactly as it
  would be when that notebook starts (same jail, limits and user, the next notebook's own guard
  log), and the first notebook's (and the judge) when the student's grading starts, while
  nbgrader sets that notebook up; each with its clock stopped: the notebook and submission
  time limits count from when its notebook starts, as before. The notebook adopts it if it is
  still alive; one that does not answer is replaced by a fresh kernel (nbgrade.GuardedExecute),
  so what a notebook does (a fork bomb using up the student's processes) never costs the next
  one;
- a notebook's kernel is killed when the notebook ends (nbgrade.end_kernel), not asked to shut
  down and waited for;
- one judge serves the student's notebooks; it restarts itself after a test it could not
  finish (it died or ran over its time), as before. It is the student's: a judge never carries
  anything from one student's tests to another's.

Only in the bubblewrap jail. There, the staged submission the next kernel copies is mounted
read-only in every kernel's jail (and the pipeline checks it unchanged before every notebook),
and two kernels share nothing but their user. Under the fallbacks (jail.mode() "uid" or "none")
two kernels of one student would share a host user without namespaces: the running one could
signal the next or write into its folder, and a kernel's clean-up kills all its user's
processes. There each kernel starts when its notebook does, as before.

Never across students: `close` (the end of the block, however it ends: Ctrl-C, an error, the
submission's time limit) kills whatever was started ahead and the judge; a worker killed outright
takes its kernels along (bwrap --die-with-parent) and its scratch folder is swept (scratch.py).
With kernels started ahead, the student's kernels are also forked from one process of the
student's own jail that imported their libraries once (`start_zygote`; zygote.py says what
that shares and how it falls back). `KernelSettings.start_ahead`, `KernelSettings.one_judge`
and `KernelSettings.zygote` switch each gain off (make bench measures both ways).
"""
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_core.utils import run_sync

from coursekit import jail
from coursekit.autograde import judge, nbgrade
from coursekit.autograde.nbgrade import KernelSettings


@dataclass(frozen=True)
class Used:
    """The kernel a notebook ran in: started ahead or not, the host pid of its jail (bwrap) or
    of the kernel itself (forked), the host user id it ran as (None: the grader's own), its
    socket folder, whether it was forked by the student's zygote (zygote.py)."""

    notebook: str
    ahead: bool
    pid: int | None
    uid: int | None
    folder: str
    forked: bool = False


class StudentKernels:
    """The kernels started ahead for one student's notebooks and the student's judge.

    `logs`: {notebook: its guard log}, for the notebooks to be graded, in grading order.
    `used`: a `Used` per kernel a notebook ran in; `last_used` (of the class): the `used` of
    the last student whose grading ended in this process (for make bench and the tests).
    """

    last_used = []

    def __init__(self, course, stage, logs):
        self.course, self.stage = course, stage
        self.logs = dict(logs)
        self.order = list(self.logs)
        self.start_ahead = KernelSettings.start_ahead and jail.mode() == "bwrap"
        self.ahead = {}     # notebook -> GuardedKernelManager started for it
        self.used = []
        self._judge = None
        self.zygote = None  # the process the student's kernels are forked from (zygote.py)

    def following(self, notebook):
        """The notebook graded after `notebook` (None: the last, or not one of the list)."""
        if notebook not in self.order:
            return None
        at = self.order.index(notebook) + 1
        return self.order[at] if at < len(self.order) else None

    def start_first(self, student):
        """Start the first notebook's kernel now, as its notebook would (nbgrader's settings
        for the course, that notebook's guard): it gets ready while nbgrader sets the notebook
        up (its first pass, the gradebook), not after."""
        if not self.start_ahead or not self.order:
            return
        from nbgrader.utils import setenv

        nbgrade.open_stage(self.course, self.stage, student)
        executor = nbgrade.GuardedExecute(config=nbgrade.autograde_config(self.course,
                                                                          self.stage))
        # The environment nbgrader's autograding pass gives the kernels it starts.
        with setenv(NBGRADER_EXECUTION="autograde"):
            if KernelSettings.zygote:
                self.start_zygote(executor.log)
            self._start(self.order[0], executor, nbformat.v4.new_notebook())
        if KernelSettings.one_judge:
            self.judge(executor.judge_seconds, executor.notebook_utils or None)

    def start_zygote(self, log):
        """Start the student's zygote: its jail is a kernel's (nbgrade.kernel_jail: user,
        limits, read-only mounts) with every notebook's guard log and one socket folder for
        all their kernels; it imports their libraries while nbgrader sets the first notebook
        up. One that cannot start costs nothing: each kernel starts in a jail of its own."""
        import os
        import tempfile

        from coursekit.autograde import zygote as zygotes

        staged = KernelSettings.submitted
        if staged is None:
            return
        found = None
        try:
            found = zygotes.Zygote(
                KernelSettings.ipc_dir or tempfile.gettempdir(), staged,
                nbgrade.kernel_readonly(staged), list(self.logs.values()),
                nbgrade.kernel_limits(), KernelSettings.uid,
                nbgrade.kernel_env(os.environ, zygotes.TMP, guard={}, mpl=zygotes.MPL),
                Path(KernelSettings.scratch) / "mpl", kernels=len(self.order))
            self.zygote = found.start()
        except Exception as exc:  # noqa: BLE001 (any failure: kernels of their own, as before)
            log.warning("could not start the kernels' zygote (%s)", exc)
            if found is not None:
                found.close()

    def drop_zygote(self):
        """The zygote failed the student (a kernel it forked did not answer): kill its jail
        and all in it, and start the remaining kernels each in a jail of their own."""
        found, self.zygote = self.zygote, None
        if found is not None:
            found.close()

    def start_next(self, notebook, executor, nb):
        """Start the kernel of the notebook after `notebook`, as `executor` (the GuardedExecute
        running `nb`, the notebook `notebook`) would start it, with that notebook's guard
        settings and log. A kernel that cannot start costs nothing: its notebook starts its
        own."""
        self._start(self.following(notebook), executor, nb)

    def _start(self, after, executor, nb):
        if not self.start_ahead or after is None or after in self.ahead:
            return
        saved = KernelSettings.guard
        try:
            KernelSettings.guard = nbgrade.guard_settings(self.course, self.stage,
                                                          self.logs[after])
            km = executor._new_kernel_manager(nb)
        finally:
            KernelSettings.guard = saved
        km.started_ahead = True
        self.ahead[after] = km
        try:
            run_sync(km.start_kernel)(extra_arguments=list(executor.extra_arguments))
        except Exception as exc:  # noqa: BLE001 (any failure: the notebook starts its own)
            executor.log.warning("could not start the kernel of %s ahead (%s)", after, exc)
            del self.ahead[after]
            nbgrade.kill_kernel(km)

    def take(self, notebook):
        """The kernel started ahead for `notebook` if it still runs (None otherwise: the
        notebook starts its own); its clock starts now."""
        km = self.ahead.pop(notebook, None)
        if km is None:
            return None
        if not run_sync(km.is_alive)():
            nbgrade.kill_kernel(km)
            if km.zygote is not None:   # what killed it may have reached the zygote too
                self.drop_zygote()
            return None
        km.start_clock()
        return km

    def record(self, notebook, km):
        process = getattr(km.provisioner, "process", None)
        self.used.append(Used(notebook, km.started_ahead, getattr(process, "pid", None),
                              km._uid, str(km.kernel_dir),
                              getattr(km, "zygote", None) is not None))

    def judge(self, seconds, notebook_utils):
        """The student's judge process (the first notebook's settings: they are the course's,
        the same for every notebook), started at once: it gets ready while the first
        notebook's kernel starts and its first cells run, not when the first test waits."""
        if self._judge is None:
            self._judge = judge.JudgeProcess(seconds=seconds, notebook_utils=notebook_utils)
            try:
                self._judge.start()
            except OSError:  # the first test starts it again, and reports what fails
                pass
        return self._judge

    def close(self):
        """Kill every kernel still waiting for its notebook, and the judge."""
        StudentKernels.last_used = list(self.used)
        ahead, self.ahead = self.ahead, {}
        try:
            for km in ahead.values():
                nbgrade.kill_kernel(km)
        finally:
            try:
                if self._judge is not None:
                    self._judge.close()
                    self._judge = None
            finally:
                self.drop_zygote()


@contextmanager
def student_kernels(course, stage, logs, student=None):
    """The block grades one student's notebooks (`logs`: {notebook: guard log}, in order):
    kernels started ahead and one judge for them (`StudentKernels`), all ended when it ends.
    With `student` (the pipeline's), the first notebook's kernel starts at once too."""
    session = StudentKernels(course, stage, logs)
    KernelSettings.session = session
    try:
        if student is not None:
            session.start_first(student)
        yield session
    finally:
        KernelSettings.session = None
        session.close()
