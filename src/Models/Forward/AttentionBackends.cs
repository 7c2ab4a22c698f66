using static TorchSharp.torch;

namespace Pipeline.Models.Forward;

/// <summary>Chooses the attention backend for a device.</summary>
public static class AttentionBackends
{
    public static IAttentionBackend For(Device device) => TorchAttentionBackend.Instance;
}
