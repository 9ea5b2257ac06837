"""What a placed network costs per inference: read energy, latency and area.

The array's DC read energy is exact for linear tiles: each tile's row sources deliver ``v Y v``
watts for row voltages v (:meth:`~xbar.solvers.native.NativeSolver.input_admittance`), over the
read pulse, summed over every tile the analog chain drives for each image
(:attr:`AnalogNetwork.energy_j`). Non-linear tiles (access transistors, bias-dependent TMR) use
their zero-bias linearization, within a few tenths of a per cent at 0.1 V reads
(:meth:`~xbar.network.placed.PlacedNetwork.input_admittance`); the record says which.
The periphery (DACs, TIAs, ADCs) and the area around the array are models from figures of merit
(:mod:`xbar.analysis.periphery`, :mod:`xbar.analysis.area`) and are labelled so. Latency: the
layers run one after another; a layer's tiles read in parallel, each taking its read cycle
(DAC, read pulse, TIA settling, the ADC conversions of its columns). The array's own settling
is checked against the read pulse by ``xbar infer --study energy`` (a transient, opt-in).
"""

from __future__ import annotations

from xbar.analysis.area import AreaModel, tile_area
from xbar.analysis.area import describe as describe_area
from xbar.analysis.periphery import Periphery, tile_periphery
from xbar.network.analog import AnalogNetwork


def design_costs(net: AnalogNetwork, images: int, periphery: Periphery | None = None,
                 area: AreaModel | None = None) -> dict:
    """Energy per image (array exact, periphery model), latency per image and area of ``net``."""
    p = periphery or Periphery(adc_bits=net.spec.adc_bits or 8)
    t_read = net.read_pulse_s
    periph_j = 0.0
    latency = 0.0
    area_parts: dict[str, float] = {}
    for tiles in net.tiles:
        layer_s = 0.0
        for tile in tiles:
            rows, cols = tile.states.shape
            model = tile_periphery(p, rows, cols, t_read)
            periph_j += sum(model["energy_j"].values())
            layer_s = max(layer_s, model["read_cycle_s"] + model["delay_s"]["tia_settle"])
            for k, v in tile_area(rows, cols, net.device.n_cells, p.adc_bits, p.columns_per_adc,
                                  area)["parts_m2"].items():
                area_parts[k] = area_parts.get(k, 0.0) + v
        latency += layer_s
    array_j = None if net.energy_j is None or not images else net.energy_j / images
    return dict(
        energy_j_per_image=dict(array_dc=array_j, periphery=periph_j,
                                total=None if array_j is None else array_j + periph_j,
                                array_dc_basis="exact" if net.linear else "zero-bias linearization"),
        latency_s=latency, read_pulse_s=t_read,
        area_m2=dict(parts=area_parts, total=sum(area_parts.values())),
        models=dict(periphery=vars(p).copy(), area=describe_area(area or AreaModel()),
                    note="array energy (DC power over the read pulse; exact for linear tiles, the zero-bias "
                         "linearization for non-linear ones) and array area (the paper's geometry); periphery "
                         "energy, latency and area are models from figures of merit"),
    )
