"""How a network is put on circuits: one :class:`CircuitSpec` names the device, wires, periphery,
tiling, ADC, variation, faults and junction model of every tile, checked where it is made."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from xbar.analysis.periphery import Periphery
from xbar.array.crossbar import SENSE_MODES
from xbar.device.files import load_device
from xbar.device.compound import CompoundMTJ
from xbar.device.variation import Variation
from xbar.device.junction import check_v_half
from xbar.device.library import library_device
from xbar.util.errors import ParameterError
from xbar.device.faults import FAULT_KINDS, SHORT_OHM, Faults
from xbar.device.junction import MTJ
from xbar.util.ranges import check
from xbar.network.mapping import SCHEMES
from xbar.network.quantize import SCALE_RULES
from xbar.util.validate import choice, instance, integer, real
from xbar.device.access import AccessTransistor
from xbar.device.temperature import check_temperature

#: Default tile: 128 x 128 devices, assumed: a common macro size (64 differential outputs per tile).
DEFAULT_TILE = 128


@dataclass(frozen=True)
class CircuitSpec:
    """How a network is put on circuits. Resistances in ohm, voltages in volt.

    ``wire_ohm`` is per segment of row and column wires; ``channel_ohm`` None
    uses the device model's write channel (:func:`xbar.device.compound.channel_resistance`).

    Variation: ``sigma`` (legacy, independent R_P and R_AP) or the correlated
    ``*_ra_sigma``/``*_tmr_sigma`` of :class:`~xbar.device.variation.Variation`;
    ``fault_rate`` is the fraction of faulty cells, of ``fault_kind`` (stuck_p,
    stuck_ap, open, short) or all four evenly (:meth:`Faults.uniform`).
    Both are seeded per tile from ``variation_seed``. ``device_file``: a TOML
    device file (:mod:`xbar.device.files`) or shipped name; it replaces the
    library device and sets ``n_cells``.

    ``tile_rows``/``tile_cols`` = None leaves layers untiled. ``adc_bits`` = None
    reads currents exactly; otherwise each column current is digitized over
    [0, ``adc_full_scale_a``] ampere, or, when that is None, over [0, the tile's
    largest ideal column current with every row at ``v_read``] (the most a column
    can carry, so no input clips). ``calibration_images`` > 0
    fits a digital gain and offset per output on that many training images
    (:meth:`AnalogNetwork.calibrate`; experiments apply it).

    ``read_noise_t_s`` = None reads noiselessly; a read time in seconds adds to
    each column current, before the ADC, seeded Gaussian noise of that column's
    output-referred rms over the read (thermal noise of every resistor and shot
    noise of every junction, :mod:`xbar.analysis.noise`; the junctions' bias is
    the tile's mid-scale operating point, every row at v_read / 2), drawn from
    ``noise_seed``.
    """

    n_cells: int = 3
    thickness_nm: float = 1.9
    channel_ohm: float | None = None
    wire_ohm: float = 1.0
    driver_ohm: float = 0.0
    access_ohm: float = 0.0
    sense: str = "tia"
    ref_ohm: float = 1e6
    sigma: float = 0.0
    variation_seed: int = 0
    device_ra_sigma: float = 0.0
    cell_ra_sigma: float = 0.0
    device_tmr_sigma: float = 0.0
    cell_tmr_sigma: float = 0.0
    fault_rate: float = 0.0
    fault_kind: str = "all"
    device_file: str | None = None
    tile_rows: int | None = DEFAULT_TILE
    tile_cols: int | None = DEFAULT_TILE
    v_read: float = 0.1
    adc_bits: int | None = None
    adc_full_scale_a: float | None = None
    scheme: str = "differential"
    rule: str = "mse"
    calibration_images: int = 0
    read_noise_t_s: float | None = None
    noise_seed: int = 0
    #: TMR bias half-point V_h of the junctions in volt (:func:`xbar.device.junction.junction_current`);
    #: None (default, the paper's model) keeps the tiles linear (exact effective matrices) unless a
    #: ``device_file`` sets its own; a value (it overrides the file's) solves every tile for each batch
    #: (:meth:`xbar.solvers.NewtonSolver.solve_batch`).
    v_half_volt: float | None = None
    #: A custom cell instead of the library's: R_P in ohm and zero-bias TMR in percent (both or neither).
    r_p_ohm: float | None = None
    tmr_percent: float | None = None
    #: Per-kind fault rates (stuck_p, stuck_ap, open, short), instead of ``fault_rate``/``fault_kind``.
    fault_rates: tuple[float, float, float, float] | None = None
    short_ohm: float = SHORT_OHM   # a shorted cell's resistance (assumed, as xbar.device.faults.SHORT_OHM)
    #: The periphery models (ADC, DAC, TIA) of the energy reports; ``adc_bits`` above digitizes.
    periphery: Periphery = field(default_factory=Periphery)
    #: Mitigations that choose the states against the arrays as they are (:mod:`xbar.network.mitigation`):
    #: a comma list such as "compensate=3,aware,disconnect"; "none" (default) keeps the plain mapping.
    mitigation: str = "none"
    #: The read transistor in series with every device (:mod:`xbar.device.access`), None for none;
    #: tiles with one are solved per batch (:class:`xbar.solvers.StackNewtonSolver`).
    access: AccessTransistor | None = None
    #: Operating temperature in C (:mod:`xbar.device.temperature`); None: the devices' 27 C values.
    temperature_c: float | None = None

    def __post_init__(self):
        def put(name, check):
            try:
                object.__setattr__(self, name, check(name, getattr(self, name)))
            except ParameterError:
                if name not in messages:
                    raise
                raise ParameterError(f"{name} must be {messages[name]}, got {getattr(self, name)!r}") from None

        messages = {"tile_rows": "a positive integer (or None for untiled)",
                    "tile_cols": "a positive integer (or None for untiled)"}
        put("n_cells", lambda n, v: check(n, v))
        put("thickness_nm", lambda n, v: real(n, v))
        put("channel_ohm", lambda n, v: None if v is None else check(n, v))
        put("r_p_ohm", lambda n, v: None if v is None else check(n, v, "R_P"))
        put("tmr_percent", lambda n, v: None if v is None else check(n, v, "TMR"))
        if (self.r_p_ohm is None) != (self.tmr_percent is None):
            raise ParameterError("r_p_ohm and tmr_percent go together")
        if self.r_p_ohm is not None and self.device_file is not None:
            raise ParameterError("a device_file replaces r_p_ohm and tmr_percent; give one or the other")
        put("v_half_volt", lambda n, v: None if v is None else _finite_v_half(v))
        if self.device_file is not None:
            if not isinstance(self.device_file, (str, os.PathLike)):
                raise ParameterError(f"device_file must be a path, got {type(self.device_file).__name__}")
            object.__setattr__(self, "device_file", os.fspath(self.device_file))
            if not str(self.device_file).isprintable():
                raise ParameterError(f"device_file must be a path of printable characters, got {self.device_file!r}")
            object.__setattr__(self, "n_cells", self.device().n_cells)  # the file decides the cell count
        self.device()  # validates cells, thickness and channel
        for name in ("wire_ohm", "driver_ohm", "access_ohm", "ref_ohm"):
            put(name, check)
        for name in ("sigma", "device_ra_sigma", "cell_ra_sigma", "device_tmr_sigma", "cell_tmr_sigma"):
            put(name, check)
        put("variation_seed", lambda n, v: integer("variation seed", v, low=0))
        put("fault_rate", check)
        put("fault_kind", lambda n, v: choice("fault kind", v, ("all",) + FAULT_KINDS))
        put("short_ohm", check)
        if self.fault_rates is not None:
            if isinstance(self.fault_rates, (str, bytes)) or not hasattr(self.fault_rates, "__len__") \
                    or len(self.fault_rates) != len(FAULT_KINDS):
                raise ParameterError(f"fault_rates must be {len(FAULT_KINDS)} rates: {', '.join(FAULT_KINDS)}")
            object.__setattr__(self, "fault_rates", tuple(check(k, v) for k, v in zip(FAULT_KINDS, self.fault_rates)))
            if self.fault_rate:
                raise ParameterError("give fault_rate or the per-kind fault_rates, not both")
        if not isinstance(self.periphery, Periphery):
            raise ParameterError(f"periphery must be a Periphery, got {type(self.periphery).__name__}")
        self.variation(self.variation_seed)
        self.faults(self.variation_seed)
        put("calibration_images", lambda n, v: integer(n, v, low=0))
        put("v_read", check)
        put("scheme", lambda n, v: choice("mapping scheme", v, SCHEMES))
        put("rule", lambda n, v: choice("scale rule", v, SCALE_RULES))
        put("sense", lambda n, v: choice("sense mode", v, SENSE_MODES))
        for name in ("tile_rows", "tile_cols"):
            put(name, lambda n, v: integer(n, v, low=1, none=True))
        put("adc_bits", lambda n, v: None if v is None else check(n, v))
        put("adc_full_scale_a", lambda n, v: real(n, v, above=0.0, none=True, unit="ampere"))
        put("read_noise_t_s", lambda n, v: real(n, v, above=0.0, none=True, unit="s"))
        put("noise_seed", lambda n, v: integer(n, v, low=0))
        if not isinstance(self.mitigation, str):
            raise ParameterError(f"mitigation must be a comma list of names, got {self.mitigation!r}")
        object.__setattr__(self, "mitigation", self.mitigations().name)
        if self.access is not None:
            instance("access", self.access, AccessTransistor)
        put("temperature_c", lambda n, v: None if v is None else check_temperature(v))
        if self.read_noise_t_s is not None and not self.linear:
            raise ParameterError("read noise (read_noise_t_s) is modelled for linear circuits only: drop "
                                 "v_half_volt (or the device file's) and the access transistor")

    @property
    def linear(self) -> bool:
        """Whether the circuits are linear: linear junctions (no V_h) and no access transistor."""
        return self.device().mtj.linear and self.access is None

    def mitigations(self):
        """The :class:`~xbar.network.mitigation.Mitigation` that ``mitigation`` names."""
        from xbar.network.mitigation import Mitigation
        return Mitigation.parse(self.mitigation)

    def variation(self, seed: int) -> Variation:
        """The variation model with ``seed``: legacy ``sigma`` or the correlated RA/TMR spreads."""
        return Variation(self.sigma, seed, self.device_ra_sigma, self.cell_ra_sigma,
                         self.device_tmr_sigma, self.cell_tmr_sigma)

    def faults(self, seed: int) -> Faults:
        """Cell faults with ``seed``: ``fault_rates`` per kind, else ``fault_rate`` of ``fault_kind``
        (or split evenly over all kinds)."""
        if self.fault_rates is not None:
            return Faults(*self.fault_rates, short_ohm=self.short_ohm, seed=seed)
        return Faults.uniform(self.fault_rate, seed, self.fault_kind, self.short_ohm)

    def device(self) -> CompoundMTJ:
        """The device: from ``device_file`` when given, else the library device at ``thickness_nm`` with
        ``n_cells`` cells; ``channel_ohm`` and ``v_half_volt`` (when not None) override the file's."""
        if self.device_file is not None:
            dev = load_device(self.device_file)
            if self.v_half_volt is not None:
                dev = dev.with_v_half(self.v_half_volt)
            if self.channel_ohm is None:
                return dev
            return CompoundMTJ(dev.mtj, dev.n_cells, self.channel_ohm, dev.cells, dev.state_sigma)
        vh = np.inf if self.v_half_volt is None else self.v_half_volt
        if self.r_p_ohm is not None:
            mtj = MTJ.from_tmr(self.r_p_ohm, self.tmr_percent / 100.0, vh)
        else:
            mtj = library_device(thickness_nm=self.thickness_nm, n_cells=self.n_cells, v_half_volt=vh).mtj
        return CompoundMTJ(mtj, self.n_cells, self.channel_ohm)


def _finite_v_half(value) -> float:
    """A spec's V_h: checked by :func:`check_v_half` and finite (None, not inf, means linear)."""
    v = check_v_half(value)
    if not np.isfinite(v):
        raise ParameterError("v_half_volt must be a finite voltage (None means linear junctions), got inf")
    return v
