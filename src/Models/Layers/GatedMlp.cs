using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>down(act(gate(x)) * up(x)) with gate and up packed into one projection (SiLU for Llama, GELU for Gemma).</summary>
/// <paramref name="isSilu"/>: the activation is SiLU, which runs fused with the product on CUDA.
public sealed class GatedMlp(Linear gateUpProj, Linear downProj, Func<Tensor, Tensor> activation, bool isSilu = false) : IFeedForward
{
    public Linear GateUpProj { get; } = gateUpProj;
    public Linear DownProj { get; } = downProj;

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gateUp = GateUpProj.Forward(x);
        if (isSilu && FusedOps.For(gateUp))
        {
            var act = torch.empty([gateUp.shape[0], gateUp.shape[1] / 2], gateUp.dtype, gateUp.device);
            Native.NativeOps.SiluAndMul(act, gateUp);
            return DownProj.Forward(act).MoveToOuterDisposeScope();
        }
        var parts = GateUpProj.Split(gateUp);
        return DownProj.Forward(activation(parts[0]) * parts[1]).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        GateUpProj.Dispose();
        DownProj.Dispose();
    }
}
