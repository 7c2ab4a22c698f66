using Pipeline.Models.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// Whether a layer may use libpipeline_native's fused kernels for a tensor: CUDA tensors, the library loaded, and not
/// turned off with PIPELINE_NATIVE_OPS=0 (which keeps every layer on its TorchSharp path, the reference).
/// </summary>
public static class FusedOps
{
    static readonly bool Disabled = Environment.GetEnvironmentVariable("PIPELINE_NATIVE_OPS") == "0";

    public static bool For(Tensor x) => !Disabled && x.device_type == DeviceType.CUDA && NativeOps.IsAvailable;
}
