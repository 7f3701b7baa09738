"""Makes tiny ONNX models for each model contract, for tests (no learned weights, no downloads):

- segmentation `tiny-segmentation`: image f32 [1,3,S,S] -> mask f32 [1,1,S,S], a disc of radius 0.6
  of the half-side (the image only scales it by 0, so every input gives that disc);
- depth `tiny-depth`: image [1,3,S,S] -> depth [1,1,S,S], a left-to-right ramp from 0 to 1;
- triplane `tiny-sphere` (the TripoSR contract): encoder image [1,3,512,512] -> triplane
  [1,3,40,64,64] (zeros), decoder triplane [3,40,64,64] + points [N,3] -> density [N,1], colour
  [N,3]: density = 25 + 100·(0.5 − |p|), so the surface (density 25) is the sphere of radius 0.5,
  and colour = clip(p + 0.5, 0, 1).

Each model gets a manifest (`<name>.toml`) with sizes and SHA-256s, as in models/catalog.

    python models/tools/make_test_models.py OUT_DIR [--size 64]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]
# onnx 1.23 writes IR version 14 by default; ONNX Runtime 1.31 reads up to 13.
IR_VERSION = 10


def save(model: onnx.ModelProto, path: Path) -> dict:
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    path.write_bytes(data)
    return {"path": path.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def image_to_constant(name: str, size: int, constant: np.ndarray, output: str) -> onnx.ModelProto:
    """image -> constant + 0·mean(image): uses its input, so the runtime cannot prune it."""
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean"], keepdims=1),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["nothing", "constant"], [output]),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, list(constant.shape))],
        [
            numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.float32), "zero"),
            numpy_helper.from_array(constant, "constant"),
        ],
    )
    return helper.make_model(graph, opset_imports=OPSET, producer_name="3dgpt-test-models", ir_version=IR_VERSION)


def disc(size: int) -> np.ndarray:
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0
    radius = np.sqrt(axis[None, :] ** 2 + axis[:, None] ** 2)
    return (radius <= 0.6).astype(np.float32)[None, None]


def ramp(size: int) -> np.ndarray:
    return np.tile(np.linspace(0.0, 1.0, size, dtype=np.float32), (size, 1))[None, None]


def encoder() -> onnx.ModelProto:
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean"], keepdims=0, axes=None),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["nothing", "planes"], ["triplane"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-sphere-encoder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 512, 512])],
        [helper.make_tensor_value_info("triplane", TensorProto.FLOAT, [1, 3, 40, 64, 64])],
        [
            numpy_helper.from_array(np.zeros((), np.float32), "zero"),
            numpy_helper.from_array(np.zeros((1, 3, 40, 64, 64), np.float32), "planes"),
        ],
    )
    return helper.make_model(graph, opset_imports=OPSET, producer_name="3dgpt-test-models", ir_version=IR_VERSION)


def decoder() -> onnx.ModelProto:
    nodes = [
        helper.make_node("ReduceMean", ["triplane"], ["plane_mean"], keepdims=0),
        helper.make_node("Mul", ["plane_mean", "zero"], ["nothing"]),
        helper.make_node("Mul", ["points", "points"], ["squares"]),
        helper.make_node("ReduceSum", ["squares", "last_axis"], ["radius_squared"], keepdims=1),
        helper.make_node("Sqrt", ["radius_squared"], ["radius"]),
        helper.make_node("Sub", ["sphere_radius", "radius"], ["inside"]),
        helper.make_node("Mul", ["inside", "steepness"], ["scaled"]),
        helper.make_node("Add", ["scaled", "threshold"], ["shifted"]),
        helper.make_node("Add", ["shifted", "nothing"], ["density"]),
        helper.make_node("Add", ["points", "half"], ["offset"]),
        helper.make_node("Clip", ["offset", "zero", "one"], ["color"]),
    ]
    scalar = lambda value, name: numpy_helper.from_array(np.array(value, np.float32), name)  # noqa: E731
    graph = helper.make_graph(
        nodes,
        "tiny-sphere-decoder",
        [
            helper.make_tensor_value_info("triplane", TensorProto.FLOAT, [3, 40, 64, 64]),
            helper.make_tensor_value_info("points", TensorProto.FLOAT, ["N", 3]),
        ],
        [
            helper.make_tensor_value_info("density", TensorProto.FLOAT, ["N", 1]),
            helper.make_tensor_value_info("color", TensorProto.FLOAT, ["N", 3]),
        ],
        [
            scalar(0.0, "zero"),
            scalar(1.0, "one"),
            scalar(0.5, "half"),
            scalar(0.5, "sphere_radius"),
            scalar(100.0, "steepness"),
            scalar(25.0, "threshold"),
            numpy_helper.from_array(np.array([-1], np.int64), "last_axis"),
        ],
    )
    return helper.make_model(graph, opset_imports=OPSET, producer_name="3dgpt-test-models", ir_version=IR_VERSION)


def file_table(role: str, info: dict, inputs: list, outputs: list) -> str:
    lines = [
        "[[files]]",
        f'role = "{role}"',
        f'path = "{info["path"]}"',
        f"size = {info['size']}",
        f'sha256 = "{info["sha256"]}"',
    ]
    for kind, tensors in (("inputs", inputs), ("outputs", outputs)):
        for name, shape in tensors:
            lines += [f"[[files.{kind}]]", f'name = "{name}"', 'dtype = "f32"', f"shape = {shape}"]
    return "\n".join(lines) + "\n"


def manifest(name: str, kind: str, description: str, input_size: int, files: str, parameters: str = "") -> str:
    return f'''name = "{name}"
kind = "{kind}"
description = "{description}"
license = "Apache-2.0"
source = "made by models/tools/make_test_models.py"
memory_mb = 16

[input]
size = {input_size}
channels = "rgb"
range = [0.0, 1.0]
mean = [0.485, 0.456, 0.406]
std = [0.229, 0.224, 0.225]
background = 0.5
foreground_ratio = 0.85

{parameters}
{files}'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--size", type=int, default=64, help="side of the segmentation and depth models")
    args = parser.parse_args()
    out = args.output
    size = args.size
    for name, kind, output, constant, description in (
        ("tiny-segmentation", "segmentation", "mask", disc(size), "Test model: always a centred disc"),
        ("tiny-depth", "depth", "depth", ramp(size), "Test model: a left-to-right ramp"),
    ):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        info = save(image_to_constant(name, size, constant, output), folder / "model.onnx")
        table = file_table("model", info, [("image", [1, 3, size, size])], [(output, [1, 1, size, size])])
        (out / f"{name}.toml").write_text(manifest(name, kind, description, size, table))
    folder = out / "tiny-sphere"
    folder.mkdir(parents=True, exist_ok=True)
    encoder_info = save(encoder(), folder / "encoder.onnx")
    decoder_info = save(decoder(), folder / "decoder.onnx")
    tables = file_table("encoder", encoder_info, [("image", [1, 3, 512, 512])], [("triplane", [1, 3, 40, 64, 64])])
    tables += file_table(
        "decoder",
        decoder_info,
        [("triplane", [3, 40, 64, 64]), ("points", [-1, 3])],
        [("density", [-1, 1]), ("color", [-1, 3])],
    )
    parameters = "[parameters]\ndensity_threshold = 25.0\ngrid = 256\nradius = 0.87\nchunk = 65536\n"
    (out / "tiny-sphere.toml").write_text(
        manifest("tiny-sphere", "triplane", "Test model: a sphere of radius 0.5", 512, tables, parameters)
    )
    print(out)


if __name__ == "__main__":
    main()
