using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>A plain (ungated) MLP: down(act(up(x))) — ReLU² for Arcee/Nemotron, GELU for GPT-style models.</summary>
public sealed class Mlp(Linear upProj, Linear downProj, Func<Tensor, Tensor> activation) : IFeedForward
{
    public Linear UpProj { get; } = upProj;
    public Linear DownProj { get; } = downProj;

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return DownProj.Forward(activation(UpProj.Forward(x))).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        UpProj.Dispose();
        DownProj.Dispose();
    }
}
