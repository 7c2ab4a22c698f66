using Pipeline.Models.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>config.json hidden_act names to functions (exact erf GELU for "gelu", as transformers).</summary>
public static class Activations
{
    public static Func<Tensor, Tensor> Get(string name) => name switch
    {
        "gelu" => x => nn.functional.gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => GeluTanh,
        "relu" => x => nn.functional.relu(x),
        "relu2" => x => nn.functional.relu(x).square(),
        "silu" or "swish" => x => nn.functional.silu(x),
        "quick_gelu" => x => x * torch.sigmoid(x * 1.702), // CLIP's
        _ => throw new ModelConfigException($"hidden_act '{name}' is not supported (gelu, gelu_new, gelu_pytorch_tanh, quick_gelu, relu, relu2, silu)"),
    };

    static Tensor GeluTanh(Tensor x)
    {
        using var scope = NewDisposeScope();
        var inner = (x + x.pow(3) * 0.044715) * Math.Sqrt(2.0 / Math.PI);
        return (x * 0.5 * (torch.tanh(inner) + 1.0)).MoveToOuterDisposeScope();
    }
}
