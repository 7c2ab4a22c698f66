using Pipeline.Models.Architectures;
using Pipeline.Models.Runtime;
using TorchSharp;

namespace Pipeline.Models.Runner;

/// <summary>
/// Decides how many KV blocks fit: on CUDA, gpu_memory_utilization of the card minus what the process already
/// holds after the weights and a profiling forward; on CPU, --kv-cache-memory bytes. Then checks that one
/// sequence of max_model_len fits, with a message that says what to change. State-space layers' state (one slot per
/// running request, max_num_seqs of them) comes out of the budget first; a model of those layers only needs no blocks.
/// </summary>
public static class KVCacheSizer
{
    public const long DefaultCpuKvCacheBytes = 4L << 30;

    public static int NumBlocks(ICausalLM model, int blockSize, double gpuMemoryUtilization, long? kvCacheMemoryBytes, int maxModelLen, int maxNumSeqs)
    {
        var kv = model.KVCacheConfig(blockSize);
        long perBlock = kv.BytesPerBlock;
        long budget;
        string source;
        if (kvCacheMemoryBytes is long explicitBytes)
        {
            if (explicitBytes <= 0) throw new ArgumentException($"--kv-cache-memory must be positive, got {explicitBytes}");
            budget = explicitBytes;
            source = $"--kv-cache-memory {explicitBytes}";
        }
        else if (model.Device.type == DeviceType.CUDA)
        {
            if (gpuMemoryUtilization is <= 0 or > 1) throw new ArgumentException($"--gpu-memory-utilization must be in (0, 1], got {gpuMemoryUtilization}");
            var reading = GpuMemory.Read(model.Device.index < 0 ? 0 : model.Device.index)
                ?? throw new InvalidOperationException("cannot read GPU memory (nvidia-smi unavailable): pass --kv-cache-memory BYTES");
            budget = (long)(reading.TotalBytes * gpuMemoryUtilization) - reading.UsedByProcessBytes;
            source = $"--gpu-memory-utilization {gpuMemoryUtilization} of {reading.TotalBytes >> 20} MiB with {reading.UsedByProcessBytes >> 20} MiB already used by this process";
            if (budget <= 0) throw new InvalidOperationException($"no memory left for the KV cache ({source}): raise --gpu-memory-utilization");
        }
        else
        {
            budget = DefaultCpuKvCacheBytes;
            source = $"the CPU default of {DefaultCpuKvCacheBytes >> 30} GiB (--kv-cache-memory)";
        }
        int needed = (maxModelLen + blockSize - 1) / blockSize;
        if (kv.HasState)
        {
            long stateBytes = kv.StateBytesPerSlot * maxNumSeqs;
            if (stateBytes >= budget)
                throw new InvalidOperationException(
                    $"the state of {maxNumSeqs} sequences ({stateBytes >> 20} MiB for the state-space layers) does not fit in {budget >> 20} MiB from {source}: lower --max-num-seqs or give the KV cache more memory");
            budget -= stateBytes;
            // The block table is never read; the scheduler's limits still count in blocks.
            if (!kv.HasAttention) return needed;
        }
        long blocks = budget / perBlock;
        if (blocks < needed)
            throw new InvalidOperationException(
                $"max_model_len {maxModelLen} needs {needed} KV blocks ({(long)needed * perBlock >> 20} MiB) but only {blocks} fit in {budget >> 20} MiB from {source}: lower --max-model-len or give the KV cache more memory");
        // More blocks than every sequence at full length could use would only waste memory.
        long useful = (long)needed * maxNumSeqs;
        return (int)Math.Min(Math.Min(blocks, useful), int.MaxValue / 2);
    }
}
