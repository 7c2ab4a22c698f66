using Pipeline.Models.Architectures;
using Pipeline.Models.Cache;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Sampling;
using Pipeline.Models.StructuredOutputs;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Runner;

/// <summary>
/// Executes the scheduler's step plans on one device: keeps the persistent per-request state (tokens, block
/// table, generator) that the plans only send diffs for, fills the persistent input batch, has the attention
/// backend build its metadata, runs the model over the paged KV cache, computes logits only for rows that sample (or need prompt
/// logprobs), and samples.
/// </summary>
public sealed class ModelRunner : IModelExecutor, IDisposable
{
    readonly ICausalLM _model;
    readonly Sampler _sampler = new();
    readonly Dictionary<string, CachedRequestState> _requests = new();
    readonly IReadOnlyCollection<int> _eosTokenIds;
    readonly Func<string, int[]>? _encodeBadWord;
    readonly IAttentionBackend _backend;
    readonly InputBatch _inputs;
    readonly StructuredOutputManager? _structured;
    readonly Lora.LoRAModelManager? _lora;

    public KVCache Cache { get; }
    /// <summary>Decode steps replayed from CUDA graphs, or null (CPU, no native library, --enforce-eager).</summary>
    public CudaGraphRunner? Graphs => _graphs;
    public StepTimings Timings { get; } = new();
    /// <summary>Image encoder outputs by hash, shared by the requests (and steps) that use the same image.</summary>
    public EncoderCache EncoderCache { get; } = new();
    public IAttentionBackend Backend => _backend;
    readonly CudaGraphRunner? _graphs;
    public int BlockSize { get; }
    public int NumRequests => _requests.Count;

    /// <param name="encodeBadWord">Tokenizes one bad word (with the tokenizer the request used), or null when there is none.</param>
    readonly IDisposable? _owned;

    /// <param name="owned">Disposed with the runner (a model the runner's owner loaded for it alone).</param>
    /// <param name="structuredOutputs">Compiles and applies structured-output constraints; null when the model has no tokenizer.</param>
    public ModelRunner(ICausalLM model, int numBlocks, int blockSize, IReadOnlyCollection<int> eosTokenIds, Func<string, int[]>? encodeBadWord = null, IDisposable? owned = null,
        IAttentionBackend? backend = null, CudaGraphOptions? graphs = null, int numStateSlots = 0, StructuredOutputManager? structuredOutputs = null,
        Lora.LoRAModelManager? lora = null)
    {
        _lora = lora;
        _structured = structuredOutputs;
        _owned = owned;
        _model = model;
        BlockSize = blockSize;
        _eosTokenIds = eosTokenIds;
        _encodeBadWord = encodeBadWord;
        _backend = backend ?? AttentionBackends.For(model);
        Cache = OneShotForward.AllocateCache(model, numBlocks, blockSize, _backend, numStateSlots);
        _inputs = new InputBatch(blockSize, model.Device, _backend.NeedsBlockTable, Cache.Config.HasState, withMRope: model is ISupportsMRope);
        if (graphs is { EnforceEager: false } g && _backend is NativeAttentionBackend
            && lora == null  // the step's adapter mapping is built on the host each step: LoRA runs eager
            && model is not IEncoderDecoderModel  // cross-attention reads per-request encoder caches: not captured
            && !Cache.Config.HasState  // state-space layers scan on the host-laid-out padded batch: not captured
            && model is not ISupportsMRope  // decode positions continue by a per-request delta the captured positions lack
            && model.Config.Rope.RopeType is not ("dynamic" or "longrope"))  // their rotation is computed on the host per sequence
        {
            _graphs = new CudaGraphRunner(model, Cache, _backend, g.MaxNumSeqs, Math.Min(g.MaxModelLen, CudaGraphOptions.MaxCapturedContext));
            _graphs.CaptureAll();
        }
    }

    public ModelRunnerOutput Execute(SchedulerOutput plan)
    {
        foreach (var id in plan.FinishedReqIds.Concat(plan.PreemptedReqIds)) Remove(id);
        foreach (var n in plan.ScheduledNewReqs) Add(n);
        var cached = plan.ScheduledCachedReqs;
        for (int i = 0; i < cached.Count; i++)
        {
            var st = _requests.TryGetValue(cached.ReqIds[i], out var s) ? s : throw new InvalidOperationException($"runner has no state for request {cached.ReqIds[i]}");
            st.BlockIds.AddRange(cached.NewBlockIds[i]);
            st.NumComputedTokens = cached.NumComputedTokens[i];
        }

        EncoderCache.Free(plan.FreeEncoderMmHashes);
        ExecuteEncoder(plan);

        var output = new ModelRunnerOutput();
        if (plan.TotalNumScheduledTokens == 0 || plan.NumScheduledTokens.Count == 0) return output;

        // Order: as planned (new requests, then cached ones).
        var order = plan.ScheduledNewReqs.Select(n => n.ReqId).Concat(cached.ReqIds).Where(plan.NumScheduledTokens.ContainsKey).ToList();
        var seqs = new List<SequenceSlice>(order.Count);
        var tokens = new List<long>(plan.TotalNumScheduledTokens);
        var sampleRows = new List<int>();      // index into order of requests that sample this step
        List<(CachedRequestState State, int Row, int Start, int Count)>? images = null;
        foreach (var id in order)
        {
            var st = _requests[id];
            int n = plan.NumScheduledTokens[id];
            int start = st.NumComputedTokens;
            if (start + n > st.TokenIds.Count)
                throw new InvalidOperationException($"request {id}: scheduled {n} tokens from {start} but it has {st.TokenIds.Count}");
            if (st.MmInputs.Count > 0) (images ??= new()).Add((st, tokens.Count, start, n));
            seqs.Add(new SequenceSlice(tokens.Count, n, start + n, st.BlockIds.ToArray(), st.PromptTokenIds.Count, st.StateSlot, st.MRope,
                st.BidirectionalRanges));
            for (int t = start; t < start + n; t++) tokens.Add(st.TokenIds[t]);
            if (start + n == st.TokenIds.Count) sampleRows.Add(seqs.Count - 1);
        }

        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        int[] sampled = [];
        TokenLogprobs?[] lps = [];
        Tensor? hidden = null, logits = null;
        var imageRows = images == null ? null : ImageRows(images);
        var cross = _model is IEncoderDecoderModel encdec ? CrossAttention(encdec, order, seqs) : null;
        bool replay = _graphs != null && imageRows == null && cross == null && sampleRows.Count == seqs.Count && _graphs.Supports(seqs);
        long t1;
        if (replay)
        {
            t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            logits = _graphs!.Run(seqs, tokens);
        }
        else
        {
            using var loraStep = _lora?.BeginStep(order.Select(id => (_requests[id].LoraRequest, plan.NumScheduledTokens[id])).ToList());
            var batch = _inputs.Prepare(seqs, tokens);
            using var meta = _backend.BuildMetadata(batch, Cache.Config);
            t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            var ctx = new ForwardContext(_backend, meta, Cache) { CrossAttention = cross };
            hidden = imageRows == null
                ? _model.Forward(batch.InputIds, null, ctx)
                : _model.Forward(null, WithImages(batch.InputIds, imageRows), ctx);
            if (sampleRows.Count > 0)
            {
                var rowsIdx = torch.tensor(sampleRows.Select(r => (long)(seqs[r].QueryStart + seqs[r].QueryLen - 1)).ToArray(), device: _model.Device);
                logits = _model.ComputeLogits(hidden.index_select(0, rowsIdx));
            }
        }
        long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
        if (logits is not null)
        {
            var rows = sampleRows.Select(r => Row(_requests[order[r]])).ToList();
            if (sampleRows.Any(r => _requests[order[r]].SamplingParams.Whisper != null))
                for (int i = 0; i < sampleRows.Count; i++)
                    if (_requests[order[sampleRows[i]]] is { SamplingParams.Whisper: { } wp } ws)
                        WhisperLogitsProcessor.Apply(logits[i], wp, ws.OutputTokenIds);
            if (_structured != null && sampleRows.Any(r => _requests[order[r]].Matcher != null))
            {
                var packed = _structured.FillBitmask(sampleRows.Select(r => _requests[order[r]].Matcher).ToList());
                if (packed != null) _structured.ApplyBitmask(logits, packed, sampleRows.Count);
            }
            (sampled, lps) = _sampler.Sample(logits, rows);
        }
        Timings.Record(t0, t1, t2, System.Diagnostics.Stopwatch.GetTimestamp(), replay);

        int k = 0;
        for (int r = 0; r < order.Count; r++)
        {
            var st = _requests[order[r]];
            st.NumComputedTokens += seqs[r].QueryLen;
            output.ReqIds.Add(st.ReqId);
            output.PromptLogprobs.Add(PromptLogprobs(st, seqs[r], hidden));
            if (k < sampleRows.Count && sampleRows[k] == r)
            {
                st.TokenIds.Add(sampled[k]);
                if (st.Matcher != null) st.Matcher.AcceptToken(sampled[k]);
                else if (st.SamplingParams.StructuredOutputs is { StartAfterTokenIds: { Count: > 0 } marker } so
                    && st.NumOutputTokens >= marker.Count && EndsWith(st.TokenIds, st.TokenIds.Count, marker))
                    st.Matcher = _structured!.NewMatcher(so);
                output.SampledTokenIds.Add([sampled[k]]);
                output.Logprobs.Add(lps[k] is { } lp ? [lp] : null);
                k++;
            }
            else
            {
                output.SampledTokenIds.Add([]);
                output.Logprobs.Add(null);
            }
        }
        return output;
    }

    SamplingRow Row(CachedRequestState st)
    {
        var sp = st.SamplingParams;
        return new SamplingRow(sp, st.Generator, st.PromptTokenIds, st.OutputTokenIds, st.StopIds, st.BadWordsTokenIds);
    }

    /// <summary>Logprobs of each prompt token given the ones before it, for the prompt positions computed this step.</summary>
    TokenLogprobs[]? PromptLogprobs(CachedRequestState st, SequenceSlice s, Tensor? hidden)
    {
        if (st.SamplingParams.PromptLogprobs is not int k) return null;
        int start = s.SeqLen - s.QueryLen;
        // Position p predicts token p+1; only prompt tokens are scored.
        int last = Math.Min(s.SeqLen, st.PromptTokenIds.Count - 1);
        if (last <= start) return [];
        if (hidden is null) throw new InvalidOperationException("prompt logprobs need the hidden states of an eager step");
        using var scope = NewDisposeScope();
        var rows = hidden.narrow(0, s.QueryStart, last - start);
        var lp = _model.ComputeLogits(rows).log_softmax(-1);
        long vocab = lp.shape[1];
        if (k < 0) k = (int)vocab;
        var targets = torch.tensor(Enumerable.Range(start + 1, last - start).Select(p => (long)st.PromptTokenIds[p]).ToArray(), device: lp.device).unsqueeze(1);
        var chosen = lp.gather(1, targets);
        var ranks = (lp > chosen).sum(1).add(Scalars.OneInt).cpu().data<long>().ToArray();
        var chosenVals = chosen.squeeze(1).cpu().data<float>().ToArray();
        float[] topVals = [];
        long[] topIds = [];
        if (k > 0)
        {
            (Tensor v, Tensor ix) = lp.topk(k, -1);
            topVals = v.cpu().data<float>().ToArray();
            topIds = ix.cpu().data<long>().ToArray();
        }
        var result = new TokenLogprobs[last - start];
        for (int i = 0; i < result.Length; i++)
        {
            var top = new (int, float)[k];
            for (int j = 0; j < k; j++) top[j] = ((int)topIds[i * k + j], topVals[i * k + j]);
            result[i] = new TokenLogprobs(st.PromptTokenIds[start + 1 + i], chosenVals[i], (int)ranks[i], top);
        }
        return result;
    }

    /// <summary>Runs the vision encoder for the images the scheduler scheduled this step (vLLM's _execute_mm_encoder).</summary>
    void ExecuteEncoder(SchedulerOutput plan)
    {
        if (plan.ScheduledEncoderInputs.Count == 0) return;
        using var noGrad = torch.no_grad();
        foreach (var (id, indexes) in plan.ScheduledEncoderInputs)
        {
            var st = _requests.TryGetValue(id, out var s) ? s : throw new InvalidOperationException($"runner has no state for request {id}");
            foreach (var i in indexes)
            {
                var mm = st.MmInputs[i];
                EncoderCache.Encode(mm, () => (mm.Audio, _model) switch
                {
                    ({ } clip, IMultiModalAudioModel audio) => audio.EncodeAudio(clip),
                    (null, IMultiModalModel vision) => vision.EncodeImage(mm.Image!),
                    _ => throw new InvalidOperationException(
                        $"request {id} has {(mm.Audio != null ? "audio" : "images")} but the model ({_model.Config.Architecture}) does not take them"),
                });
            }
        }
    }

    /// <summary>
    /// For each image whose placeholder positions this step computes: the flat-batch rows and the matching rows of its
    /// encoder output, from the encoder cache (vLLM's _gather_mm_embeddings). Null when no image row runs.
    /// </summary>
    List<(Tensor Features, long[] Rows, long[] FeatureRows)>? ImageRows(List<(CachedRequestState State, int Row, int Start, int Count)> images)
    {
        List<(Tensor, long[], long[])>? result = null;
        foreach (var (st, row, start, count) in images)
            for (int i = 0; i < st.MmInputs.Count; i++)
            {
                var mm = st.MmInputs[i];
                int from = Math.Max(start, mm.Offset), to = Math.Min(start + count, mm.Offset + mm.Length);
                if (from >= to) continue;
                if (!EncoderCache.TryGet(mm.Hash, out var features))
                    throw new InvalidOperationException($"request {st.ReqId}: image {i} is computed this step but its encoder output is not cached (the scheduler did not schedule it)");
                var positions = Enumerable.Range(from, to - from).Where(p => mm.FeatureRow(p) >= 0).ToArray();
                if (positions.Length == 0) continue;
                (result ??= new()).Add((features,
                    positions.Select(p => (long)(row + p - start)).ToArray(),
                    positions.Select(p => (long)mm.FeatureRow(p)).ToArray()));
            }
        return result;
    }

    /// <summary>
    /// Each sequence's encoder cache for the step, in batch order: the encoder runs the first time a request is
    /// scheduled and its cross-attention K/V stay with the request until it leaves (a per-request encoder cache).
    /// </summary>
    CrossAttentionBatch CrossAttention(IEncoderDecoderModel model, List<string> order, List<SequenceSlice> seqs)
    {
        var slices = new CrossAttentionSlice[order.Count];
        for (int i = 0; i < order.Count; i++)
        {
            var st = _requests[order[i]];
            if (st.Encoder == null)
            {
                var audio = st.Audio ?? throw new InvalidOperationException($"request {st.ReqId} has no audio for the encoder-decoder model {_model.Config.Architecture}");
                st.Encoder = model.Encode(audio);
            }
            slices[i] = new CrossAttentionSlice(seqs[i].QueryStart, seqs[i].QueryLen, st.Encoder);
        }
        return new CrossAttentionBatch(slices);
    }

    /// <summary>The token embeddings with each image's feature rows in place of its placeholder embeddings.</summary>
    Tensor WithImages(Tensor inputIds, List<(Tensor Features, long[] Rows, long[] FeatureRows)> imageRows)
    {
        var embeds = _model.EmbedInputIds(inputIds);
        foreach (var (features, rows, featureRows) in imageRows)
        {
            using var r = torch.tensor(rows, device: embeds.device);
            using var f = torch.tensor(featureRows, device: embeds.device);
            embeds.index_copy_(0, r, features.index_select(0, f).to_type(embeds.dtype));
        }
        return embeds;
    }

    void Add(NewRequestData n)
    {
        Remove(n.ReqId);
        var sp = n.SamplingParams;
        var stops = new HashSet<int>(sp.StopTokenIds);
        if (!sp.IgnoreEos) stops.UnionWith(_eosTokenIds);
        var gen = sp.Seed is long seed ? new Generator((ulong)seed) : null;
        // A request resumed after preemption replays its generator to where it was.
        if (gen != null && !sp.IsGreedy && n.NumOutputTokens > 0)
            for (int i = 0; i < n.NumOutputTokens; i++) torch.empty(_model.Config.VocabSize, ScalarType.Float32).exponential_(1.0, gen).Dispose();
        _requests[n.ReqId] = new CachedRequestState
        {
            ReqId = n.ReqId,
            PromptTokenIds = n.PromptTokenIds,
            SamplingParams = sp,
            TokenIds = new List<int>(n.AllTokenIds),
            BlockIds = new List<int>(n.BlockIds),
            StateSlot = n.StateSlot,
            MmInputs = n.MmInputs ?? [],
            MRope = _model is ISupportsMRope mrope
                ? mrope.GetMRopeInputPositions(n.PromptTokenIds.Count, (n.MmInputs ?? []).Where(m => m.Image != null).Select(m => (m.Offset, m.Image!)).ToList())
                : null,
            LoraRequest = n.LoraRequest,
            Audio = n.Audio,
            BidirectionalRanges = n.BidirectionalRanges is { Count: > 0 } bidi ? bidi : null,
            NumComputedTokens = n.NumComputedTokens,
            Generator = gen,
            StopIds = stops,
            BadWordsTokenIds = sp.BadWords is { Count: > 0 } bw && _encodeBadWord != null ? BadWordIds(bw) : null,
            // A request resumed after preemption replays its output through the grammar.
            Matcher = sp.StructuredOutputs is { } so ? StartedMatcher(so, n.AllTokenIds.Skip(n.PromptTokenIds.Count).ToList()) : null,
        };
    }

    /// <summary>
    /// The request's matcher advanced over its output so far; with StartAfterTokenIds, over what follows them, and
    /// null while they have not appeared (the thinking of a reasoning model is not constrained).
    /// </summary>
    GrammarMatcher? StartedMatcher(StructuredOutputsParams so, IReadOnlyList<int> output)
    {
        var manager = _structured ?? throw new InvalidOperationException("structured outputs need the model's tokenizer, which is not loaded");
        if (so.StartAfterTokenIds is not { Count: > 0 } marker) return manager.NewMatcher(so, output);
        for (int end = marker.Count; end <= output.Count; end++)
            if (EndsWith(output, end, marker)) return manager.NewMatcher(so, output.Skip(end));
        return null;
    }

    /// <summary>Whether tokens[..end] ends with the marker.</summary>
    static bool EndsWith(IReadOnlyList<int> tokens, int end, IReadOnlyList<int> marker)
    {
        if (end < marker.Count) return false;
        for (int j = 0; j < marker.Count; j++) if (tokens[end - marker.Count + j] != marker[j]) return false;
        return true;
    }

    /// <summary>Each bad word with and without a leading space, as vLLM tokenizes them.</summary>
    IReadOnlyList<int[]> BadWordIds(IReadOnlyList<string> words)
    {
        var list = new List<int[]>();
        foreach (var w in words)
        {
            foreach (var variant in new[] { w, " " + w.TrimStart() }.Distinct())
            {
                var ids = _encodeBadWord!(variant);
                if (ids.Length > 0 && !list.Any(x => x.SequenceEqual(ids))) list.Add(ids);
            }
        }
        return list;
    }

    void Remove(string id)
    {
        if (_requests.Remove(id, out var st)) st.Dispose();
    }

    public void Dispose()
    {
        foreach (var st in _requests.Values) st.Dispose();
        _requests.Clear();
        _graphs?.Dispose();
        EncoderCache.Dispose();
        Cache.Dispose();
        _inputs.Dispose();
        _owned?.Dispose();
    }
}
