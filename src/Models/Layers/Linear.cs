using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>y = x W^T + b, weights stored as Hugging Face saves them ([out, in]).</summary>
public sealed class Linear(Tensor weight, Tensor? bias) : IDisposable
{
    public Tensor Weight { get; } = weight;
    public Tensor? Bias { get; } = bias;

    public Tensor Forward(Tensor x) => nn.functional.linear(x, Weight, Bias);

    public void Dispose()
    {
        Weight.Dispose();
        Bias?.Dispose();
    }
}
