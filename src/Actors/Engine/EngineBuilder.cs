using Pipeline.Models.Forward;
using Pipeline.Models.Runner;
using Pipeline.Models.StructuredOutputs;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Actors.Engine;

/// <summary>
/// Sizes the KV cache and builds the scheduler and model runner for a loaded model. On CUDA a profiling
/// forward of max_num_batched_tokens runs first, so the memory left for the KV cache accounts for activations.
/// </summary>
public static class EngineBuilder
{
    /// <param name="structuredOutputsVocab">The vocabulary grammars are matched over; by default the tokenizer's (none without one).</param>
    public static (EngineCore Core, ModelRunner Runner, SchedulerConfig Config) Build(ModelContext ctx, EngineArgs args, TokenizerVocab? structuredOutputsVocab = null)
    {
        var config = SchedulerConfigFor(ctx, args);
        var tok = ctx.Tokenizer;
        var runner = new ModelRunner(ctx.Model, config.NumGpuBlocks, args.BlockSize, ctx.EosTokenIds, tok == null ? null : w => tok.Encode(w, addSpecialTokens: false),
            graphs: new CudaGraphOptions(args.EnforceEager, config.MaxNumSeqs, config.MaxModelLen), numStateSlots: config.NumStateSlots,
            structuredOutputs: StructuredOutputsFor(ctx, structuredOutputsVocab), lora: ctx.Lora);
        return (new EngineCore(new Scheduler(config), runner), runner, config);
    }

    /// <summary>The runner's structured-output manager: over the given vocabulary, else the tokenizer's (decoded on first use).</summary>
    public static StructuredOutputManager? StructuredOutputsFor(ModelContext ctx, TokenizerVocab? vocab = null)
    {
        if (vocab != null) return new StructuredOutputManager(vocab);
        var tok = ctx.Tokenizer;
        if (tok == null) return null;
        var lazy = ctx.StructuredOutputsVocab;
        return new StructuredOutputManager(() => lazy.Value!);
    }

    /// <summary>Sizes the KV cache (after a profiling forward on CUDA) and validates the scheduler limits.</summary>
    public static SchedulerConfig SchedulerConfigFor(ModelContext ctx, EngineArgs args)
    {
        var model = ctx.Model;
        int maxBatched = args.MaxNumBatchedTokens ?? (args.EnableChunkedPrefill ? Math.Max(2048, args.MaxNumSeqs) : Math.Max(ctx.MaxModelLen, args.MaxNumSeqs));
        // An encoder-decoder model's decoder needs encoder outputs; its profile is the weights and the KV sizer's count.
        if (model.Device.type == DeviceType.CUDA && args.NumGpuBlocksOverride == null && model is not Pipeline.Models.Architectures.IEncoderDecoderModel) ProfileRun(ctx, Math.Min(maxBatched, ctx.MaxModelLen), args.BlockSize);
        int blocks = args.NumGpuBlocksOverride ?? KVCacheSizer.NumBlocks(model, args.BlockSize, args.GpuMemoryUtilization, args.KvCacheMemoryBytes, ctx.MaxModelLen, args.MaxNumSeqs);
        var policy = args.SchedulingPolicy switch
        {
            "fcfs" => SchedulingPolicy.Fcfs,
            "priority" => SchedulingPolicy.Priority,
            _ => throw new ArgumentException($"--scheduling-policy must be fcfs or priority, got '{args.SchedulingPolicy}'"),
        };
        var kv = model.KVCacheConfig(args.BlockSize);
        var config = new SchedulerConfig
        {
            // One state slot per running request; prefix caching off for models with state-space layers, as in vLLM.
            NumStateSlots = kv.HasState ? args.MaxNumSeqs : 0,
            HasAttention = kv.HasAttention,
            SlidingWindow = kv.UniformSlidingWindow,
            MaxNumSeqs = args.MaxNumSeqs,
            MaxNumBatchedTokens = maxBatched,
            MaxModelLen = ctx.MaxModelLen,
            BlockSize = args.BlockSize,
            NumGpuBlocks = blocks,
            EnablePrefixCaching = args.EnablePrefixCaching && !kv.HasState,
            EnableChunkedPrefill = args.EnableChunkedPrefill,
            Policy = policy,
            AsyncScheduling = args.AsyncScheduling,
            MaxNumEncoderInputTokens = args.MaxNumEncoderInputTokens,
            EncoderCacheSize = args.EncoderCacheSize,
            MaxLoras = ctx.Lora?.Config.MaxLoras,
        };
        config.Validate();
        return config;
    }

    static void ProfileRun(ModelContext ctx, int tokens, int blockSize)
    {
        var model = ctx.Model;
        int blocks = (tokens + blockSize - 1) / blockSize;
        var backend = AttentionBackends.For(model);
        using var cache = OneShotForward.AllocateCache(model, blocks, blockSize, backend);
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var seqs = new[] { new SequenceSlice(0, tokens, tokens, Enumerable.Range(0, blocks).ToArray(), StateSlot: 0) };
        var hidden = OneShotForward.Run(model, seqs, new long[tokens], cache, backend);
        model.ComputeLogits(hidden.narrow(0, tokens - 1, 1));
        torch.cuda.synchronize(model.Device);
    }
}
