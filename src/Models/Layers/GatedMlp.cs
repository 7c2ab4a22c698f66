using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>down(act(gate(x)) * up(x)) with gate and up packed into one projection (SiLU for Llama, GELU for Gemma).</summary>
public sealed class GatedMlp(Linear gateUpProj, Linear downProj, Func<Tensor, Tensor> activation) : IDisposable
{
    public Linear GateUpProj { get; } = gateUpProj;
    public Linear DownProj { get; } = downProj;

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var parts = GateUpProj.Split(GateUpProj.Forward(x));
        return DownProj.Forward(activation(parts[0]) * parts[1]).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        GateUpProj.Dispose();
        DownProj.Dispose();
    }
}
