using Pipeline.Models.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Forward;

/// <summary>
/// Chooses the attention backend for a device: the native paged kernels on CUDA when libpipeline_native is loaded,
/// else eager TorchSharp, which also serves models with a layer the native backend does not support (attention
/// soft-capping, ALiBi) and models with bidirectional prompt ranges (<see cref="Architectures.IMmPrefixLM"/>).
/// PIPELINE_ATTENTION_BACKEND=torch forces the eager one (vLLM's VLLM_ATTENTION_BACKEND).
/// </summary>
public static class AttentionBackends
{
    public const string EnvironmentVariable = "PIPELINE_ATTENTION_BACKEND";

    public static IAttentionBackend For(Architectures.IDecoderModel model)
    {
        var backend = For(model.Device);
        return model is not Architectures.IMmPrefixLM && model.AttentionLayers.All(backend.Supports) ? backend : TorchAttentionBackend.Instance;
    }

    public static IAttentionBackend For(Device device)
    {
        var forced = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (forced is "torch" or "torch-eager") return TorchAttentionBackend.Instance;
        if (device.type == DeviceType.CUDA && NativeOps.IsAvailable) return NativeAttentionBackend.Instance;
        if (forced is "native" or "native-paged")
            throw new InvalidOperationException($"{EnvironmentVariable}={forced}, but {(device.type == DeviceType.CUDA ? "libpipeline_native is not available: " + NativeOps.Describe() : "the device is not CUDA")}");
        return TorchAttentionBackend.Instance;
    }
}
