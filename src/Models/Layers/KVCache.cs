using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// The paged KV cache: per layer one K and one V tensor of [numBlocks * blockSize, numKvHeads, headDim],
/// addressed by slot = block id * blockSize + offset in block.
/// </summary>
public sealed class KVCache : IDisposable
{
    public int NumBlocks { get; }
    public int BlockSize { get; }
    public Tensor[] Keys { get; }
    public Tensor[] Values { get; }

    public KVCache(int numLayers, int numBlocks, int blockSize, int numKvHeads, int headDim, ScalarType dtype, Device device)
    {
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        Keys = new Tensor[numLayers];
        Values = new Tensor[numLayers];
        for (int i = 0; i < numLayers; i++)
        {
            Keys[i] = torch.zeros([(long)numBlocks * blockSize, numKvHeads, headDim], dtype, device);
            Values[i] = torch.zeros([(long)numBlocks * blockSize, numKvHeads, headDim], dtype, device);
        }
    }

    public static long BytesPerBlock(int numLayers, int blockSize, int numKvHeads, int headDim, ScalarType dtype) =>
        2L * numLayers * blockSize * numKvHeads * headDim * ElementSize(dtype);

    public static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Float64 or ScalarType.Int64 => 8,
        _ => 1,
    };

    public void Dispose()
    {
        foreach (var t in Keys) t.Dispose();
        foreach (var t in Values) t.Dispose();
    }
}
