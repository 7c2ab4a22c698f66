using Pipeline.Actors.Output;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.StructuredOutputs;

namespace Pipeline.Actors.Engine;

/// <summary>
/// The offline, in-process engine (vLLM's LLM class): give it prompts, it runs them to completion with
/// continuous batching over the paged KV cache and returns one final output per prompt, in order.
/// </summary>
public sealed class LLM : IDisposable
{
    readonly ModelContext _ctx;
    readonly ModelRunner _runner;
    readonly InputProcessor _inputs;
    readonly Multimodal.MultiModalInputProcessor _multimodal;
    long _nextId;

    public EngineCore Core { get; }
    public ModelRunner Runner => _runner;
    public SchedulerConfig SchedulerConfig { get; }
    public ModelContext Context => _ctx;

    public LLM(EngineArgs args) : this(ModelContext.Load(args), args) { }

    /// <param name="structuredOutputsVocab">The vocabulary grammars are matched over, for a model without a tokenizer.</param>
    public LLM(ModelContext ctx, EngineArgs args, TokenizerVocab? structuredOutputsVocab = null, Multimodal.MediaOptions? media = null)
    {
        _ctx = ctx;
        (Core, _runner, SchedulerConfig) = EngineBuilder.Build(ctx, args, structuredOutputsVocab);
        _inputs = new InputProcessor(ctx.Tokenizer, ctx.Model.Config.VocabSize, ctx.MaxModelLen, ctx.EosTokenIds,
            structuredOutputs: ctx.Tokenizer != null || structuredOutputsVocab != null,
            takesAudio: ctx.Model is Pipeline.Models.Architectures.IEncoderDecoderModel);
        _multimodal = new Multimodal.MultiModalInputProcessor(Multimodal.MultiModalSupport.Placeholders(ctx),
            new Multimodal.MediaConnector(media ?? Multimodal.MediaOptions.Default), ctx.MaxModelLen, Multimodal.MultiModalSupport.AudioPlaceholders(ctx));
    }

    /// <summary>The model's sampling defaults applied (generation_config.json with --generation-config auto).</summary>
    public SamplingParams DefaultSamplingParams(SamplingParams? baseline = null)
    {
        var sp = baseline ?? new SamplingParams();
        return _ctx.UseGenerationConfig ? _ctx.GenerationConfig.DefaultSamplingParams(sp) : sp;
    }

    public IReadOnlyList<RequestOutput> Generate(IReadOnlyList<PromptInput> prompts, SamplingParams sp) =>
        Generate(prompts, Enumerable.Repeat(sp, prompts.Count).ToList());

    /// <param name="loraRequests">Each prompt's LoRA adapter (null entries: the base model); needs --enable-lora.</param>
    public IReadOnlyList<RequestOutput> Generate(IReadOnlyList<PromptInput> prompts, IReadOnlyList<SamplingParams> sps, IReadOnlyList<int>? priorities = null,
        IReadOnlyList<Pipeline.Models.Lora.LoRARequest?>? loraRequests = null)
    {
        if (sps.Count != prompts.Count) throw new ArgumentException($"{prompts.Count} prompts but {sps.Count} sampling params");
        if (loraRequests != null && loraRequests.Count != prompts.Count) throw new ArgumentException($"{prompts.Count} prompts but {loraRequests.Count} LoRA requests");
        if (loraRequests != null && loraRequests.Any(l => l != null))
        {
            var manager = _ctx.Lora ?? throw new ArgumentException("a LoRA adapter was requested but LoRA is not enabled (EnableLora / --enable-lora)");
            foreach (var l in loraRequests.Where(l => l != null).DistinctBy(l => l!.LoraIntId)) manager.Add(l!);
        }
        var processor = new OutputProcessor(_ctx.Tokenizer);
        var ids = new string[prompts.Count];
        var requests = new List<Request>();
        for (int i = 0; i < prompts.Count; i++)
        {
            ids[i] = (_nextId++).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var final = sps[i] with { OutputKind = RequestOutputKind.FinalOnly };
            var (req, text) = _inputs.Process(ids[i], prompts[i], final, priorities?[i] ?? 0, lora: loraRequests?[i]);
            if (prompts[i].HasImages || prompts[i].HasAudioClips || _multimodal.ChecksEveryPrompt)
                req = _multimodal.ProcessAsync(req, prompts[i]).GetAwaiter().GetResult();
            requests.AddRange(processor.AddRequest(req, text));
        }
        foreach (var r in requests) Core.Admit(r);
        var results = new Dictionary<string, RequestOutput>();
        while (processor.NumUnfinished > 0)
        {
            var (outputs, stopped) = processor.Process(Core.Step());
            if (stopped.Count > 0) Core.Finish(stopped, RequestStatus.FinishedStopped);
            foreach (var o in outputs) if (o.Finished) results[o.RequestId] = o;
            if (!Core.HasUnfinishedRequests && processor.NumUnfinished > 0)
                throw new InvalidOperationException("engine has no work left but requests are unfinished");
        }
        // Steps still in flight (async scheduling) and the ids of requests finished by stop string: the runner drops them.
        Core.Drain();
        return ids.Select(id => results[id]).ToList();
    }

    public void Dispose()
    {
        _runner.Dispose();
        _ctx.Dispose();
    }
}
