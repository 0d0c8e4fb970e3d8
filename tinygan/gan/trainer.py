"""The one training loop every GAN variant shares.

Each iteration follows Goodfellow et al.'s algorithm (the seed's version of it): k = n_critic
times, draw a real batch and update the discriminator on its loss (the recipe draws fresh fakes
without recording G's graph); then, with the discriminator frozen, draw new noise and update the
generator. Around that loop the Trainer does everything that is not the paper's: a progress
line, a metrics log (JSON lines), sample grids of a fixed latent batch, a loss-curve PNG,
periodic checkpoints, exact resume, and a clean stop on a NaN or infinite loss.

The checkpoint is the run. It holds, besides the weights and every random and data state, the
settings that make the run's mathematics: the recipe's Config, the TrainConfig fields outside
``CADENCE`` (d_steps, schedule, ...), the batch size and what the caller records with ``run_info``
(the CLI: the seed). ``fit(resume=True)`` refuses a Trainer whose settings differ from the run's,
naming each one; only the cadence (how long, how often to log, sample, evaluate and save) may
change. So a resumed run continues exactly as if it had never stopped.

Stopping: SIGINT (Ctrl-C) or SIGTERM during ``fit`` finishes the current step, writes the
checkpoint and raises ``TrainingInterrupted``; a second signal stops at once (KeyboardInterrupt),
leaving the last checkpoint as it was (writes are atomic). Besides every ``checkpoint_every``
steps, a checkpoint is written every ``checkpoint_minutes`` of wall time, so that even a
``kill -9`` loses at most those minutes. A checkpoint written between two progress lines keeps
the partial sums of the logged values, so the resumed run logs the same numbers too.

Two options change the schedule for every recipe (``TrainConfig``):

* ``d_steps`` = k, the discriminator steps per generator step (the seed's "repeat k times";
  Goodfellow et al. used k = 1); by default the recipe's own ``n_critic`` (WGAN's 5).
* ``schedule="keras"``, the loop of the seed chapter's Keras code: each discriminator step is two
  updates, one on a real batch (``recipe.d_loss_real``) and then one on a batch of fakes
  (``recipe.d_loss_fake``), like its ``train_on_batch(real_imgs, ones)`` then
  ``train_on_batch(fake_imgs, zeros)``; the fakes come from ``generator.predict``, i.e. with the
  generator in inference mode (batch-norm's running statistics); and the real batches are drawn
  with replacement (``np.random.randint(0, N, batch_size)``: the loader's ``replacement``). The
  default ``"alternating"`` makes one update on the joint loss ``recipe.d_loss``.

A third option leaves the game alone and changes what is sampled: ``ema``, a running average of
the generator's weights (``tinygan.gan.ema``), updated after every generator step and used for
the sample grids and evaluations. Off by default, except for recipes whose paper samples from
one (``Recipe.default_ema``: ProGAN's 0.999).

Files in ``out_dir``:
    checkpoint.npz       networks, optimizers, the running average, RNG and data-loader state, step (atomic writes)
    metrics.jsonl        one JSON object per logged step
    samples/step_*.png   sample grids (of the running average, when there is one); samples.png the latest
    progress.gif         the sample grids so far, as an animation
    losses.png           loss curves
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import signal
import sys
import threading
import time
from pathlib import Path

from tinygan import backend, random
from tinygan.checkpoint import load_checkpoint, read_meta, save_checkpoint
from tinygan.data.atomic import atomic_write
from tinygan.gan.ema import ARRAY_PREFIX as EMA_PREFIX, EMA, ema_arrays
from tinygan.gan.recipe import batch_size
from tinygan.tensor import Tensor, no_grad


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the run stopped and its last good checkpoint is intact."""


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the run after a whole step, whose checkpoint was then written."""

    def __init__(self, signal_name, step, checkpoint):
        super().__init__(f"{signal_name}: stopped after step {step}; saved {checkpoint}")
        self.signal_name, self.step, self.checkpoint = signal_name, step, checkpoint


SCHEDULES = ("alternating", "keras")
STOP_SIGNALS = ("SIGINT", "SIGTERM")


@dataclasses.dataclass
class TrainConfig:
    """How long and how visibly to train (the recipe's Config holds the method's own options)."""

    epochs: float = 5.0          # passes over the training set (each critic step takes one batch)
    steps: int | None = None     # generator steps; overrides epochs when given
    log_every: int = 50          # steps between progress lines and metrics records
    sample_every: int = 500      # steps between sample grids (and loss-curve updates)
    checkpoint_every: int = 500  # steps between checkpoints (one is always written at the end)
    checkpoint_minutes: float = 5.0  # minutes of wall time between checkpoints as well (0: by steps only)
    eval_every: int = 0          # steps between evaluator calls (0: never)
    grid_size: int = 64          # samples in a grid (a square number)
    d_steps: int | None = None   # discriminator steps per generator step (None: the recipe's n_critic)
    schedule: str = "alternating"  # alternating | keras (see the module docstring)
    ema: float | None = None     # decay of the running average of G's weights (None: the recipe's own; 0: off)

    def __post_init__(self):
        if self.d_steps is not None and (not isinstance(self.d_steps, int) or self.d_steps < 1):
            raise ValueError(f"d_steps: expected a positive integer (or None: the recipe's own), got {self.d_steps!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule: expected one of {list(SCHEDULES)}, got {self.schedule!r}")
        for name in ("log_every", "sample_every", "checkpoint_every", "grid_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        if self.steps is not None and (not isinstance(self.steps, int) or self.steps < 1):
            raise ValueError(f"steps: expected a positive integer, got {self.steps!r}")
        if self.steps is None and not self.epochs > 0:
            raise ValueError(f"epochs: expected a positive number, got {self.epochs!r}")
        if self.eval_every < 0:
            raise ValueError(f"eval_every: expected 0 (never) or a positive integer, got {self.eval_every!r}")
        if not (isinstance(self.checkpoint_minutes, (int, float)) and 0 <= self.checkpoint_minutes < math.inf):
            raise ValueError(f"checkpoint_minutes: expected a non-negative number (0: by steps only), "
                             f"got {self.checkpoint_minutes!r}")
        if self.ema is not None and not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema: expected a decay in [0, 1) (e.g. 0.999; 0: off), got {self.ema!r}")


# The TrainConfig fields that do not change a run's mathematics: how long it trains and how often
# it logs, samples, evaluates and saves. A resumed run may change these; every other field is the run's.
CADENCE = ("epochs", "steps", "log_every", "sample_every", "checkpoint_every", "checkpoint_minutes", "eval_every")


def _frozen(networks, names):
    """Context: the weights of the networks ``names`` get no gradient (the seed's
    `discriminator.trainable = False`). Gradients still flow through these networks to their
    inputs; only their weight gradients, which the generator step would throw away, are not computed."""
    params = [p for name in names for p in networks[name].parameters() if p.requires_grad]

    @contextlib.contextmanager
    def ctx():
        for p in params:
            p.requires_grad = False
        try:
            yield
        finally:
            for p in params:
                p.requires_grad = True
    return ctx()


class Trainer:
    """Train ``recipe`` on the batches of ``loader``, writing to ``out_dir``.

    ``evaluator``, if given, is called as ``evaluator(recipe)`` every ``eval_every`` steps and
    returns a dict of numbers that are logged with the losses (the CLI passes the FID and
    classifier score of tinygan.metrics). ``log`` receives the progress lines. ``run_info`` is a
    dict of JSON values that define the run beyond the recipe and this Trainer (the CLI: the
    seed); it is recorded in every checkpoint and checked on resume like the other settings.
    """

    def __init__(self, recipe, loader, out_dir, config=None, evaluator=None, log=None, run_info=None):
        self.recipe, self.loader = recipe, loader
        self.out_dir = Path(out_dir)
        self.config = config or TrainConfig()
        self.evaluator = evaluator
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.run_info = dict(run_info or {})
        self.d_steps = self.config.d_steps or recipe.n_critic
        if self.config.schedule == "keras":
            if not recipe.supports_split_d_loss():
                raise ValueError(f"schedule 'keras': the {recipe.name} recipe does not split its discriminator loss "
                                 "into a real and a fake term (d_loss_real / d_loss_fake); use schedule 'alternating'")
            if not hasattr(loader, "replacement"):
                raise ValueError(f"schedule 'keras': its real batches are drawn with replacement, and this loader "
                                 f"({type(loader).__name__}) has no 'replacement' option")
            loader.replacement = True
        side = int(round(math.sqrt(self.config.grid_size)))
        if side * side != self.config.grid_size:
            raise ValueError(f"grid_size: expected a square number, got {self.config.grid_size}")
        if self.config.steps is not None:
            self.total_steps = self.config.steps
        else:
            self.total_steps = max(1, int(self.config.epochs * len(loader)) // self.d_steps)
        self.step = 0
        self.elapsed = 0.0
        self.stop_signal = None                  # the name of the signal that asked the loop to stop
        self._sums, self._count = {}, 0          # logged values summed since the last progress line
        self.fixed_latent, self.fixed_labels = recipe.fixed_latent(self.config.grid_size)
        decay = recipe.default_ema if self.config.ema is None else self.config.ema
        self.ema = EMA(recipe.generators(), decay) if decay else None

    def settings(self):
        """What makes this run's mathematics, by section: the recipe's Config, the TrainConfig
        fields outside CADENCE (d_steps and ema as the values they mean, the recipe's own where
        the config says None), the batch size and ``run_info``. Saved in every checkpoint and
        compared on resume."""
        train = {k: v for k, v in dataclasses.asdict(self.config).items() if k not in CADENCE}
        train.update(d_steps=self.d_steps, ema=self.ema.decay if self.ema else 0.0)
        return {"config": dataclasses.asdict(self.recipe.config), "train": train,
                "run": {"batch_size": self.loader.batch_size, **self.run_info}}

    # -- paths ---------------------------------------------------------------------------------
    @property
    def checkpoint_path(self):
        return self.out_dir / "checkpoint.npz"

    @property
    def metrics_path(self):
        return self.out_dir / "metrics.jsonl"

    # -- the loop ------------------------------------------------------------------------------
    def _batches(self):
        while True:
            yield from self.loader

    def _train_step(self, batches):
        """One generator step and the d_steps discriminator steps before it; returns the info
        dicts as detached 0-d tensors (no device-to-host copy here)."""
        recipe = self.recipe
        recipe.before_step(self.step, self.loader.batch_size)
        phase = recipe.current_phase()
        nets = list(recipe.networks().values())
        opts = recipe.optimizers()
        info = {}
        for _ in range(self.d_steps):
            real, labels = next(batches)
            if self.config.schedule == "keras":
                info_d = self._keras_d_step(real, labels, nets, opts, phase)
                continue
            loss_d, info_d = recipe.d_loss(real, labels)
            self._d_update(loss_d, nets, opts, phase)
        info.update(info_d)
        with _frozen(recipe.networks(), phase.frozen_in_g_step):
            loss_g, info_g = recipe.g_step_loss(real, labels)
            for m in nets:
                m.zero_grad()
            loss_g.backward()
        for name in phase.g_optimizers:
            opts[name].step()
        if self.ema is not None:
            self.ema.update()
        info.update(info_g)
        info.update(recipe.after_g_step(info))
        return info

    def _d_update(self, loss_d, nets, opts, phase):
        for m in nets:
            m.zero_grad()
        loss_d.backward()
        for name in phase.d_optimizers:
            opts[name].step()
        self.recipe.after_d_step()

    def _keras_d_step(self, real, labels, nets, opts, phase):
        """Two discriminator updates, on the real batch and then on fakes that the generator's
        networks (those the generator step trains) draw in inference mode."""
        recipe = self.recipe
        loss_real, info_real = recipe.d_loss_real(real, labels)
        self._d_update(loss_real, nets, opts, phase)
        generators = [m for name, m in recipe.networks().items() if name not in phase.frozen_in_g_step]
        flags = [(m, m.training) for g in generators for m in g.modules()]
        for g in generators:
            g.eval()
        try:
            fake = recipe.draw_fakes(batch_size(real), labels if recipe.conditional else None)
        finally:
            for m, flag in flags:
                object.__setattr__(m, "training", flag)
        loss_fake, info_fake = recipe.d_loss_fake(fake, labels)
        self._d_update(loss_fake, nets, opts, phase)
        return {"d_loss": (loss_real + loss_fake).detach() * 0.5, **info_real, **info_fake}

    def fit(self, resume=False):
        """Train to ``total_steps`` (continuing from the checkpoint with ``resume``); returns the
        last logged record. SIGINT or SIGTERM end it early, with a checkpoint (see the module
        docstring)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "samples").mkdir(exist_ok=True)
        if resume:
            self._resume()
        elif self.checkpoint_path.exists():
            raise FileExistsError(f"{self.checkpoint_path} exists: pass --resume to continue that run, "
                                  "or choose another --out directory")
        else:
            self.metrics_path.write_text("")
        for m in self.recipe.networks().values():
            m.train()
        ema = f", running average of G (decay {self.ema.decay})" if self.ema else ""
        self.log(f"training {self.recipe.name} for {self.total_steps} steps ({len(self.loader)} batches an epoch, "
                 f"{self.d_steps} per step, schedule {self.config.schedule}{ema}) on {self.recipe.device}; "
                 f"writing to {self.out_dir}")
        with self._stop_on_signals():
            return self._loop()

    def _loop(self):
        batches = self._batches()
        last = {}
        self._t_interval, self._t_start = time.perf_counter(), time.perf_counter() - self.elapsed
        self._t_saved = time.monotonic()
        while self.step < self.total_steps:
            info = self._train_step(batches)
            self.step += 1
            self._count += 1
            for k, v in info.items():
                self._sums[k] = self._sums[k] + v if k in self._sums else v
            done = self.step == self.total_steps
            if self.step % self.config.log_every == 0 or done:
                now = time.perf_counter()
                last = self._record({k: float(v.item()) / self._count for k, v in self._sums.items()},
                                    self._count / (now - self._t_interval), now - self._t_start)
                self._sums, self._count, self._t_interval = {}, 0, now
            if self.config.eval_every and (self.step % self.config.eval_every == 0 or done) and self.evaluator:
                last = self._evaluate(last)
            if self.step % self.config.sample_every == 0 or done:
                self.save_samples()
            minutes = self.config.checkpoint_minutes
            due = minutes > 0 and time.monotonic() - self._t_saved >= 60 * minutes
            if self.step % self.config.checkpoint_every == 0 or done or due or self.stop_signal:
                self._save()
            if self.stop_signal and not done:
                raise TrainingInterrupted(self.stop_signal, self.step, self.checkpoint_path)
        return last

    def _save(self):
        self.elapsed = time.perf_counter() - self._t_start
        self.save_checkpoint()
        self._t_saved = time.monotonic()

    @contextlib.contextmanager
    def _stop_on_signals(self):
        """SIGINT and SIGTERM ask the loop to stop after the current step; a second one raises
        KeyboardInterrupt at once. (Only the main thread can take signals; elsewhere this does
        nothing.) The previous handlers are put back afterwards."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def ask_to_stop(signum, frame):
            if self.stop_signal is not None:
                raise KeyboardInterrupt(f"{signal.Signals(signum).name} again: stopped at once")
            self.stop_signal = signal.Signals(signum).name

        self.stop_signal = None
        previous = {name: signal.signal(getattr(signal, name), ask_to_stop) for name in STOP_SIGNALS}
        try:
            yield
        finally:
            for name, handler in previous.items():
                signal.signal(getattr(signal, name), handler)

    def _record(self, means, rate, elapsed):
        bad = {k: v for k, v in means.items() if not math.isfinite(v)}
        if bad:
            kept = (f"the last good checkpoint ({self.checkpoint_path}) is intact" if self.checkpoint_path.exists()
                    else "no checkpoint had been written yet")
            raise TrainingDiverged(f"step {self.step}: {', '.join(f'{k} = {v}' for k, v in bad.items())}; "
                                   f"training stopped, {kept}. Lower the learning rate or check the inputs.")
        epoch = self.loader.epoch + self.loader.batch / len(self.loader)
        record = {"step": self.step, "epoch": round(epoch, 4), "time": round(elapsed, 2), "it_per_s": round(rate, 3)}
        record.update({k: round(v, 6) for k, v in means.items()})
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        eta = (self.total_steps - self.step) / rate if rate > 0 else float("inf")
        losses = "  ".join(f"{k} {v:.4f}" for k, v in means.items())
        self.log(f"step {self.step}/{self.total_steps}  epoch {epoch:.2f}  {losses}  {rate:.1f} it/s  "
                 f"ETA {_duration(eta)}")
        return record

    def _evaluate(self, last):
        for m in self.recipe.networks().values():
            m.eval()
        try:
            with self._sampling_weights():
                scores = self.evaluator(self.recipe)
        finally:
            for m in self.recipe.networks().values():
                m.train()
        record = {"step": self.step, **{f"eval/{k}": v for k, v in scores.items()}}
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.log(f"step {self.step}: " + "  ".join(f"{k} {v:.4g}" for k, v in scores.items()))
        return {**last, **record}

    # -- samples -------------------------------------------------------------------------------
    def _sampling_weights(self):
        """Context: the generator weights samples are drawn with (the running average, when kept)."""
        return self.ema.swapped_in(self.recipe) if self.ema is not None else contextlib.nullcontext()

    def sample_grid(self):
        """Images of the fixed latent batch, generated in eval mode (running batch-norm statistics)
        with the running average of G's weights when there is one."""
        nets = list(self.recipe.networks().values())
        flags = [(m, m.training) for m in nets]
        for m in nets:
            m.eval()
        try:
            with no_grad(), self._sampling_weights():
                return self.recipe.sample_images(self.fixed_latent).numpy()
        finally:
            for m, flag in flags:
                m.train(flag)

    def _step_grids(self):
        return sorted((self.out_dir / "samples").glob("step_*.png"))

    def save_samples(self):
        from tinygan.viz import plot_losses, save_grid, save_progress_gif
        images = self.sample_grid()
        nrow = self.recipe.grid_columns(self.fixed_latent)
        title = f"{self.recipe.name}, step {self.step}" + (" (running average of G)" if self.ema else "")
        path = self.out_dir / "samples" / f"step_{self.step:06d}.png"
        save_grid(images, path, nrow=nrow, title=title)
        save_grid(images, self.out_dir / "samples.png", nrow=nrow, title=title)
        save_progress_gif(self._step_grids(), self.out_dir / "progress.gif")
        plot_losses(self.metrics_path, self.out_dir / "losses.png", title=self.recipe.name)

    # -- checkpoints -----------------------------------------------------------------------------
    def save_checkpoint(self):
        for name, m in self.recipe.networks().items():
            for pname, p in m.named_parameters():
                if not bool(backend.array_module(p.data).isfinite(p.data).all()):
                    raise TrainingDiverged(f"step {self.step}: {name}.{pname} holds NaN or inf; not saving over "
                                           f"the last good checkpoint ({self.checkpoint_path})")
        settings = self.settings()
        meta = {
            "recipe": self.recipe.name,
            "config": settings["config"],
            "train_config": {**dataclasses.asdict(self.config), **settings["train"]},
            "run": settings["run"],
            "step": self.step,
            "total_steps": self.total_steps,
            "elapsed": self.elapsed,
            "loader": self.loader.state_dict(),
            "rng": random.get_rng_state(),
            "device": self.recipe.device,
            "pending_log": {"count": self._count, "sums": {k: [float(v.item()), str(v.dtype)]
                                                          for k, v in self._sums.items()}},
        }
        arrays = {f"fixed_latent_{i}": backend.to_numpy(t.data) for i, t in enumerate(self.fixed_latent)}
        if self.fixed_labels is not None:
            arrays["fixed_labels"] = backend.to_numpy(self.fixed_labels)
        meta["recipe_state"], recipe_arrays = split_recipe_state(self.recipe.state_dict())
        arrays.update(recipe_arrays)
        if self.ema is not None:
            meta["ema"], averaged = self.ema.state_dict()
            arrays.update({EMA_PREFIX + k: v for k, v in averaged.items()})
        save_checkpoint(self.checkpoint_path, self.recipe.networks(), self.recipe.optimizers(), meta, arrays)

    def _resume(self):
        path = self.checkpoint_path
        if not path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {path}")
        meta = read_meta(path)
        if meta.get("recipe") != self.recipe.name:
            raise ValueError(f"--resume: {path} is a {meta.get('recipe')} run, not {self.recipe.name}")
        run = resolve_recipe_defaults(run_settings(meta), self.recipe.n_critic, self.recipe.default_ema)
        differences = compare_settings(run, self.settings())
        if differences:
            raise ValueError(f"--resume: {path}: a resumed run keeps the settings it started with, and "
                             + "; ".join(f"{name} is {ours!r} here but {theirs!r} in the run"
                                         for name, theirs, ours in differences)
                             + "; start a new run to change them")
        step = int(meta["step"])
        if step > self.total_steps:
            raise ValueError(f"--resume: the run in {self.out_dir} is at step {step} already, past the "
                             f"{self.total_steps} steps asked for; ask for more steps to continue it")
        meta, arrays = load_checkpoint(path, self.recipe.networks(), self.recipe.optimizers())
        self.recipe.load_state_dict(join_recipe_state(meta.get("recipe_state", {}), arrays))
        if (self.ema is None) != ("ema" not in meta):
            kept = f"keeps a running average of G (decay {meta['ema']['decay']})" if "ema" in meta else \
                "keeps no running average of G"
            raise ValueError(f"--resume: {path} {kept}; resume it with the same --ema, "
                             "or start a new run to change it")
        if self.ema is not None:
            self.ema.load_state_dict(meta["ema"], ema_arrays(arrays))
        self.step = step
        self.elapsed = float(meta.get("elapsed", 0.0))
        self.loader.load_state_dict(meta["loader"])
        random.set_rng_state(meta["rng"])
        latent = []
        while f"fixed_latent_{len(latent)}" in arrays:
            a = arrays[f"fixed_latent_{len(latent)}"]
            latent.append(Tensor(backend.to_device(a, self.recipe.device)))
        self.fixed_latent = tuple(latent)
        if "fixed_labels" in arrays:
            self.fixed_labels = backend.to_device(arrays["fixed_labels"], self.recipe.device)
        pending = meta.get("pending_log", {"count": 0, "sums": {}})
        xp = backend.xp_for(self.recipe.device)
        self._count = int(pending["count"])
        self._sums = {k: Tensor(xp.asarray(value, dtype=dtype)) for k, (value, dtype) in pending["sums"].items()}
        self._truncate_metrics()
        for grid in self._step_grids():  # grids of steps after the checkpoint: the resumed run draws them again
            if int(grid.stem.split("_")[1]) > self.step:
                grid.unlink()
        self.log(f"resumed from {path} at step {self.step}")

    def _truncate_metrics(self):
        """Drop records logged after the checkpoint: the resumed run logs those steps again."""
        if not self.metrics_path.exists():
            return
        kept = [line for line in self.metrics_path.read_text().splitlines()
                if line.strip() and json.loads(line)["step"] <= self.step]
        with atomic_write(self.metrics_path) as f:
            f.write("".join(line + "\n" for line in kept).encode("utf-8"))


def run_settings(meta):
    """The settings of the run a checkpoint holds (``Trainer.settings``' sections), from its
    metadata. Checkpoints of older tinygans lack some: a section then holds what they recorded
    (the batch size is also in the loader's state)."""
    config = meta.get("config")
    train = {k: v for k, v in (meta.get("train_config") or {}).items() if k not in CADENCE}
    run = dict(meta.get("run") or {})
    if "batch_size" not in run:
        size = _loader_batch_size(meta.get("loader"))
        if size is not None:
            run["batch_size"] = size
    return {"config": dict(config) if isinstance(config, dict) else {}, "train": train, "run": run}


def resolve_recipe_defaults(run, n_critic, default_ema):
    """``run`` (``run_settings``) with the None that older checkpoints recorded for d_steps and ema
    ("the recipe's own") replaced by the values they meant."""
    train = run["train"]
    if "d_steps" in train and train["d_steps"] is None:
        train["d_steps"] = n_critic
    if "ema" in train and train["ema"] is None:
        train["ema"] = default_ema or 0.0
    return run


def _loader_batch_size(state):
    """The batch size in a loader's state_dict (a two-domain loader's is in each domain's)."""
    if not isinstance(state, dict):
        return None
    if "batch_size" in state:
        return state["batch_size"]
    sizes = {_loader_batch_size(v) for v in state.values() if isinstance(v, dict)} - {None}
    return sizes.pop() if len(sizes) == 1 else None


def compare_settings(run, ours):
    """[(name, the run's value, ours)] for every setting both record and that differs (as JSON:
    a tuple equals its list)."""
    plain = lambda value: json.loads(json.dumps(value))  # noqa: E731
    return [(name, run[section][name], ours[section][name])
            for section in ("config", "train", "run") for name in ours.get(section, {})
            if name in run.get(section, {}) and plain(run[section][name]) != plain(ours[section][name])]


RECIPE_ARRAY_PREFIX = "recipe_state."


def split_recipe_state(state):
    """A recipe's ``state_dict()`` as (JSON part, arrays for the .npz), arrays copied to the host."""
    plain, arrays = {}, {}
    for key, value in state.items():
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            arrays[RECIPE_ARRAY_PREFIX + key] = backend.to_numpy(value)
        else:
            plain[key] = value
    return plain, arrays


def join_recipe_state(plain, arrays):
    """The inverse of ``split_recipe_state``: the dict a recipe's ``load_state_dict`` takes."""
    state = dict(plain)
    for key, value in arrays.items():
        if key.startswith(RECIPE_ARRAY_PREFIX):
            state[key[len(RECIPE_ARRAY_PREFIX):]] = value
    return state


def _duration(seconds):
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


__all__ = ["CADENCE", "TrainConfig", "Trainer", "TrainingDiverged", "TrainingInterrupted", "compare_settings",
           "join_recipe_state", "resolve_recipe_defaults", "run_settings", "split_recipe_state"]
