using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;

namespace Pipeline.Actors.Engine;

/// <summary>
/// Continuous-batching scheduler (vLLM v1's Scheduler). Each <see cref="Schedule"/> fills one step's token
/// budget: first the running requests (decodes and unfinished chunked prefills), preempting by recompute when
/// KV blocks run out, then waiting requests in policy order, with prefix-cache hits counted as computed and
/// chunked prefill. Pooling requests (<see cref="Request.IsPooling"/>) share the token budget but take no KV blocks:
/// each is admitted whole when it fits what is left of the budget, and finishes in that step with its pooled output.
/// <see cref="UpdateFromOutput"/> applies the model runner's results and checks stop conditions.
/// With <see cref="SchedulerConfig.AsyncScheduling"/> the next step may be scheduled before the previous one's results
/// are folded back (see <see cref="MarkScheduled"/>). Not thread-safe: one owner (the engine core) drives it.
/// </summary>
public sealed class Scheduler
{
    readonly Dictionary<string, Request> _requests = new();
    readonly List<Request> _running = new();
    readonly RequestQueue _waiting;
    readonly HashSet<string> _finishedReqIds = new();
    /// <summary>Async scheduling: steps scheduled and not yet folded back, oldest first.</summary>
    readonly Queue<(long Seq, SchedulerOutput Plan)> _inFlight = new();
    long _nextSequence;
    long _stepSeq;

    public Scheduler(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        KVCacheManager = new KVCacheManager(config.NumGpuBlocks, config.BlockSize, config.EnablePrefixCaching,
            config.NumStateSlots, config.HasAttention, config.SlidingWindow);
        _waiting = RequestQueue.Create(config.Policy);
        EncoderCacheManager = new EncoderCacheManager(config.EncoderCacheTokens);
    }

    public SchedulerConfig Config { get; }
    public KVCacheManager KVCacheManager { get; }
    public EncoderCacheManager EncoderCacheManager { get; }

    public int NumRunning => _running.Count;
    public int NumWaiting => _waiting.Count;
    /// <summary>Requests added and not yet finished (waiting or running).</summary>
    public int NumUnfinished => _requests.Count;
    public bool HasUnfinishedRequests => _requests.Count > 0;
    /// <summary>Finished ids not yet reported in a <see cref="SchedulerOutput"/>.</summary>
    public bool HasFinishedRequests => _finishedReqIds.Count > 0;
    public double KvCacheUsage => KVCacheManager.Usage;
    public long NumPreemptionsTotal { get; private set; }
    public long NumFinishedTotal { get; private set; }
    public PrefixCacheStats PrefixCacheStats => KVCacheManager.PrefixCacheStats;

    public IReadOnlyList<Request> RunningRequests => _running;
    public IEnumerable<Request> WaitingRequests => _waiting.Items;

    public Request? GetRequest(string requestId) => _requests.GetValueOrDefault(requestId);

    public SchedulerStats MakeStats() => new(
        NumRunning, NumWaiting, KvCacheUsage, NumPreemptionsTotal,
        PrefixCacheStats.Requests, PrefixCacheStats.Queries, PrefixCacheStats.Hits, NumFinishedTotal,
        Config.MaxLoras == null ? null : CountByLora(_running), Config.MaxLoras == null ? null : CountByLora(_waiting.Items));

    static Dictionary<string, int> CountByLora(IEnumerable<Request> requests) =>
        requests.Where(r => r.LoraRequest != null).GroupBy(r => r.LoraRequest!.LoraName).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>
    /// Queues a new request. Throws if the id is in use, the prompt is empty or does not fit max_model_len, its sampling
    /// params are invalid, or it is a pooling input longer than one step's token budget (pooling inputs are not chunked).
    /// </summary>
    public void AddRequest(Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Status != RequestStatus.Waiting || request.NumOutputTokens > request.NumResumedOutputTokens || request.NumComputedTokens > 0)
            throw new ArgumentException($"Request {request.RequestId} is not fresh.", nameof(request));
        if (request.NumPromptTokens == 0) throw new ArgumentException("The prompt cannot be empty.", nameof(request));
        if (request.IsPooling)
        {
            if (request.NumPromptTokens > Config.MaxModelLen)
                throw new ArgumentException($"The input ({request.NumPromptTokens} tokens) is longer than max_model_len ({Config.MaxModelLen}).", nameof(request));
            if (request.NumPromptTokens > Config.MaxNumBatchedTokens)
                throw new ArgumentException($"The input ({request.NumPromptTokens} tokens) is longer than max_num_batched_tokens ({Config.MaxNumBatchedTokens}); " +
                    "pooling inputs are computed in one step, not chunked: raise --max-num-batched-tokens.", nameof(request));
        }
        else
        {
            if (request.NumTokens >= Config.MaxModelLen)
                throw new ArgumentException($"The prompt ({request.NumPromptTokens} tokens) must be shorter than max_model_len ({Config.MaxModelLen}).", nameof(request));
            request.SamplingParams.Validate();
            foreach (var f in EncoderInputs(request))
                if (f.Length > Math.Min(Config.EncoderComputeBudget, Config.EncoderCacheTokens))
                    throw new ArgumentException($"An {(f.AudioClip != null ? "audio clip" : "image")} of the prompt takes {f.Length} tokens, more than the encoder can compute in one step " +
                        $"(max_num_encoder_input_tokens {Config.EncoderComputeBudget}, encoder cache {Config.EncoderCacheTokens} tokens).", nameof(request));
            int stepLimit = CapPrefill(Config.MaxNumBatchedTokens);
            foreach (var r in request.BidirectionalRanges)
                if (r.Length > stepLimit)
                    throw new ArgumentException($"The prompt has {r.Length} tokens that attend to each other bidirectionally (positions {r.Start}-{r.End - 1}) " +
                        $"and must be computed in one step, but a step computes at most {stepLimit} tokens of a prompt " +
                        "(max_num_batched_tokens, long_prefill_token_threshold): raise --max-num-batched-tokens.", nameof(request));
        }
        if (_requests.ContainsKey(request.RequestId)) throw new ArgumentException($"Request id {request.RequestId} is already in use.", nameof(request));
        request.Sequence = _nextSequence++;
        _requests[request.RequestId] = request;
        _waiting.Add(request);
    }

    /// <summary>Aborts requests (unknown or finished ids are ignored); their blocks are freed at once.</summary>
    public void AbortRequests(IEnumerable<string> requestIds) => FinishRequests(requestIds, RequestStatus.FinishedAborted);

    /// <summary>Ends requests with a terminal <paramref name="status"/> (e.g. a stop string matched downstream).</summary>
    public void FinishRequests(IEnumerable<string> requestIds, RequestStatus status)
    {
        if (!status.IsFinished()) throw new ArgumentException($"{status} is not a finished status.", nameof(status));
        HashSet<Request>? leavingRunning = null;
        foreach (var id in requestIds)
        {
            if (!_requests.TryGetValue(id, out var request)) continue;
            if (request.Status == RequestStatus.Running) (leavingRunning ??= new()).Add(request);
            else _waiting.Remove(request);
            request.Status = status;
            Finish(request);
        }
        if (leavingRunning != null) _running.RemoveAll(leavingRunning.Contains);
    }

    /// <summary>
    /// Plans the next step. Call <see cref="UpdateFromOutput"/> with its result before scheduling again, except with async
    /// scheduling, where steps may be scheduled ahead and are folded back in the order they were scheduled.
    /// </summary>
    public SchedulerOutput Schedule()
    {
        long stepSeq = ++_stepSeq;
        var output = new SchedulerOutput();
        int budget = Config.MaxNumBatchedTokens;
        var scheduledRunning = new List<Request>();
        var newBlockIds = new List<IReadOnlyList<int>>(); // parallel to scheduledRunning
        var preempted = new List<Request>();
        // Images to encode this step, per request; resolved against the encoder cache once the step is settled.
        var encoderPending = new Dictionary<string, List<int>>();
        var encoderHashes = new HashSet<string>();
        int encoderBudget = Config.EncoderComputeBudget, encoderRows = 0;

        // 1. Running requests: decodes and unfinished chunked prefills.
        int index = 0;
        while (index < _running.Count && budget > 0)
        {
            var request = _running[index];
            int numNew = AtLengthLimit(request) ? 0
                : Math.Min(CapPrefill(request.NumTokens + request.NumOutputPlaceholders - PlannedTokens(request)), budget);
            numNew = CutAtBidirectionalRanges(request, PlannedTokens(request), numNew);
            if (numNew > 0 && request.MultiModalFeatures.Count > 0)
                numNew = ScheduleEncoderInputs(request, PlannedTokens(request), numNew, encoderPending, encoderHashes, ref encoderBudget, ref encoderRows);
            if (numNew <= 0)
            {
                index++;
                continue;
            }
            IReadOnlyList<int>? blockIds;
            bool selfPreempted = false;
            // Tokens in flight already hold their slots; asking for them again only counts them.
            while ((blockIds = KVCacheManager.AllocateSlots(request, request.NumInFlightTokens + numNew)) is null)
            {
                var victim = PickPreemptionVictim();
                int victimIndex = _running.IndexOf(victim);
                _running.RemoveAt(victimIndex);
                if (victimIndex < index) index--;
                if (output.NumScheduledTokens.Remove(victim.RequestId, out int given))
                {
                    // Scheduled earlier in this step: take it back.
                    budget += given;
                    int at = scheduledRunning.IndexOf(victim);
                    scheduledRunning.RemoveAt(at);
                    newBlockIds.RemoveAt(at);
                }
                encoderPending.Remove(victim.RequestId);
                Preempt(victim, firstValidStep: stepSeq);
                preempted.Add(victim);
                if (victim == request)
                {
                    selfPreempted = true;
                    break;
                }
            }
            if (selfPreempted) break;
            scheduledRunning.Add(request);
            newBlockIds.Add(blockIds!);
            output.NumScheduledTokens[request.RequestId] = numNew;
            budget -= numNew;
            index++;
        }

        // 2. Waiting requests, unless this step had to preempt (no room to spare).
        var scheduledNew = new List<Request>();
        // vLLM's max_loras: a waiting request whose adapter would be one too many this step waits (others go ahead).
        HashSet<int>? scheduledLoras = Config.MaxLoras == null ? null
            : _running.Where(r => r.LoraId != null).Select(r => r.LoraId!.Value).ToHashSet();
        List<Request>? skipped = null;
        if (preempted.Count == 0)
        {
            while (_waiting.Count > 0 && budget > 0 && _running.Count < Config.MaxNumSeqs)
            {
                var request = _waiting.Peek();
                if (scheduledLoras != null && request.LoraId is int lora && !scheduledLoras.Contains(lora) && scheduledLoras.Count >= Config.MaxLoras)
                {
                    (skipped ??= new()).Add(_waiting.Pop());
                    continue;
                }
                if (request.IsPooling)
                {
                    // Whole or not at all; in policy order, so a request that does not fit waits for the next step.
                    if (request.NumPromptTokens > budget) break;
                    _waiting.Pop();
                    _running.Add(request);
                    request.Status = RequestStatus.Running;
                    scheduledNew.Add(request);
                    output.NumScheduledTokens[request.RequestId] = request.NumPromptTokens;
                    budget -= request.NumPromptTokens;
                    continue;
                }
                var computed = KVCacheManager.GetComputedBlocks(request);
                int numNew = CapPrefill(request.NumTokens - computed.NumComputedTokens);
                if (!Config.EnableChunkedPrefill && numNew > budget) break;
                numNew = CutAtBidirectionalRanges(request, computed.NumComputedTokens, Math.Min(numNew, budget));
                if (numNew <= 0) break;
                if (request.MultiModalFeatures.Count > 0)
                {
                    int wanted = numNew;
                    numNew = ScheduleEncoderInputs(request, computed.NumComputedTokens, numNew, encoderPending, encoderHashes, ref encoderBudget, ref encoderRows);
                    if (numNew <= 0 || (!Config.EnableChunkedPrefill && numNew < wanted))
                    {
                        encoderPending.Remove(request.RequestId);
                        EncoderCacheManager.Free(request);
                        break;
                    }
                }
                int audioEncoder = AudioEncoderTokens(request);
                if (audioEncoder > 0 && !FitsEncoderBudget(audioEncoder, encoderBudget)) break;
                if (KVCacheManager.AllocateSlots(request, numNew, computed) is null)
                {
                    encoderPending.Remove(request.RequestId);
                    EncoderCacheManager.Free(request);
                    break;
                }
                encoderBudget -= audioEncoder;
                _waiting.Pop();
                _running.Add(request);
                request.Status = RequestStatus.Running;
                request.NumComputedTokens = computed.NumComputedTokens;
                request.NumCachedTokens = computed.NumComputedTokens;
                scheduledNew.Add(request);
                output.NumScheduledTokens[request.RequestId] = numNew;
                budget -= numNew;
                if (request.LoraId is int admitted) scheduledLoras?.Add(admitted);
            }
        }
        if (skipped != null)
            for (int i = skipped.Count - 1; i >= 0; i--) _waiting.AddPreempted(skipped[i]);

        foreach (var request in scheduledNew)
        {
            output.ScheduledNewReqs.Add(new NewRequestData(
                request.RequestId, request.PromptTokenIds, request.SamplingParams, request.AllTokenIds.ToArray(),
                KVCacheManager.GetBlockIds(request.RequestId), request.NumComputedTokens, request.NumOutputTokens, request.Pooling,
                KVCacheManager.GetStateSlot(request.RequestId),
                request.MultiModalFeatures.Count == 0 ? null
                    : request.MultiModalFeatures.Where(f => f.IsEncoderInput).Select(f => new MultiModalInput(f.Hash, f.Offset, f.Length, f.Image, f.AudioClip) { IsEmbed = f.IsEmbed }).ToList(),
                request.LoraRequest,
                request.MultiModalFeatures.FirstOrDefault(f => f.Audio != null)?.Audio,
                request.BidirectionalRanges.Count == 0 ? null : request.BidirectionalRanges));
            MarkScheduled(request, output.NumScheduledTokens[request.RequestId]);
        }
        for (int i = 0; i < scheduledRunning.Count; i++)
        {
            var request = scheduledRunning[i];
            output.ScheduledCachedReqs.Add(request.RequestId, newBlockIds[i], PlannedTokens(request));
            MarkScheduled(request, output.NumScheduledTokens[request.RequestId]);
        }
        foreach (var request in scheduledNew.Concat(scheduledRunning))
            if (encoderPending.TryGetValue(request.RequestId, out var pending))
                AllocateEncoderInputs(request, pending, output);
        output.FreeEncoderMmHashes.AddRange(EncoderCacheManager.TakeFreedMmHashes());
        output.TotalNumScheduledTokens = Config.MaxNumBatchedTokens - budget;
        if (Config.AsyncScheduling && output.NumScheduledTokens.Count > 0) _inFlight.Enqueue((stepSeq, output));
        foreach (var request in preempted) output.PreemptedReqIds.Add(request.RequestId);
        output.FinishedReqIds.AddRange(_finishedReqIds);
        _finishedReqIds.Clear();
        return output;
    }

    /// <summary>
    /// Applies one step's results: advances num_computed_tokens by the scheduled counts, caches newly full
    /// blocks, appends sampled tokens and checks stop conditions, freeing finished requests. Returns one output
    /// per request that produced tokens (or prompt logprobs) or finished. Requests aborted since the step was
    /// scheduled are skipped.
    /// </summary>
    public IReadOnlyList<EngineCoreOutput> UpdateFromOutput(SchedulerOutput schedulerOutput, ModelRunnerOutput runnerOutput)
    {
        ArgumentNullException.ThrowIfNull(schedulerOutput);
        ArgumentNullException.ThrowIfNull(runnerOutput);
        long stepSeq = 0;
        if (Config.AsyncScheduling && schedulerOutput.NumScheduledTokens.Count > 0)
        {
            if (_inFlight.Count == 0 || !ReferenceEquals(_inFlight.Peek().Plan, schedulerOutput))
                throw new InvalidOperationException("With async scheduling, steps must be folded back once each, in the order they were scheduled.");
            stepSeq = _inFlight.Dequeue().Seq;
        }
        var indexOf = new Dictionary<string, int>(runnerOutput.ReqIds.Count);
        for (int i = 0; i < runnerOutput.ReqIds.Count; i++) indexOf[runnerOutput.ReqIds[i]] = i;

        var outputs = new List<EngineCoreOutput>();
        HashSet<Request>? finished = null;
        foreach (var (reqId, numScheduled) in schedulerOutput.NumScheduledTokens)
        {
            if (!_requests.TryGetValue(reqId, out var request) || request.Status != RequestStatus.Running) continue;
            if (Config.AsyncScheduling)
            {
                // Planned before the request was preempted (and resumed since): its tokens were recomputed or will be.
                if (stepSeq < request.FirstValidStep) continue;
                request.NumInFlightTokens -= numScheduled;
            }
            if (request.IsPooling)
            {
                var pooled = indexOf.TryGetValue(reqId, out int pi) && pi < runnerOutput.PoolerOutput.Count ? runnerOutput.PoolerOutput[pi] : null;
                request.NumComputedTokens = request.NumTokens;
                request.Status = pooled != null ? RequestStatus.FinishedStopped : RequestStatus.FinishedError;
                outputs.Add(new EngineCoreOutput(reqId, [], FinishReason: request.FinishReason, PoolingOutput: pooled));
                (finished ??= new()).Add(request);
                Finish(request);
                continue;
            }
            request.NumComputedTokens = Math.Min(request.NumComputedTokens + numScheduled, request.NumTokens);
            KVCacheManager.CacheFullBlocks(request, request.NumComputedTokens);
            if (request.MultiModalFeatures.Count > 0) FreeConsumedEncoderInputs(request);
            // The step reached the end of the known tokens, so it sampled the oldest placeholder.
            if (request.NumComputedTokens == request.NumTokens && request.NumOutputPlaceholders > 0) request.NumOutputPlaceholders--;

            int[] sampled = Array.Empty<int>();
            TokenLogprobs[]? logprobs = null, promptLogprobs = null;
            if (indexOf.TryGetValue(reqId, out int ri))
            {
                // Tokens sampled before the prompt is fully computed are meaningless: ignore them.
                if (request.NumComputedTokens == request.NumTokens && ri < runnerOutput.SampledTokenIds.Count)
                    sampled = runnerOutput.SampledTokenIds[ri] ?? Array.Empty<int>();
                if (ri < runnerOutput.Logprobs.Count) logprobs = runnerOutput.Logprobs[ri];
                if (ri < runnerOutput.PromptLogprobs.Count) promptLogprobs = runnerOutput.PromptLogprobs[ri];
            }

            int accepted = 0;
            foreach (int token in sampled)
            {
                request.AppendOutputToken(token);
                accepted++;
                if (CheckStop(request)) break;
            }
            bool done = request.IsFinished;
            if (accepted == 0 && !done && promptLogprobs is not { Length: > 0 }) continue;
            IReadOnlyList<int> newTokens = accepted == sampled.Length ? sampled : sampled[..accepted];
            IReadOnlyList<TokenLogprobs>? newLogprobs = logprobs is null ? null : logprobs.Length <= accepted ? logprobs : logprobs[..accepted];
            outputs.Add(new EngineCoreOutput(reqId, newTokens, newLogprobs, promptLogprobs,
                request.FinishReason, request.StopReason, request.NumCachedTokens));
            if (done)
            {
                (finished ??= new()).Add(request);
                Finish(request);
            }
        }
        if (finished != null) _running.RemoveAll(finished.Contains);
        return outputs;
    }

    /// <summary>
    /// Stop conditions after a token was appended: EOS (unless ignore_eos) and stop_token_ids once min_tokens
    /// are reached, then max_tokens and max_model_len. Sets the finished status; returns whether it stopped.
    /// </summary>
    internal bool CheckStop(Request request)
    {
        var p = request.SamplingParams;
        int last = request.AllTokenIds[^1];
        if (request.NumOutputTokens >= p.MinTokens)
        {
            if (!p.IgnoreEos && Contains(request.EosTokenIds, last))
            {
                request.Status = RequestStatus.FinishedStopped;
                return true;
            }
            if (Contains(p.StopTokenIds, last))
            {
                request.Status = RequestStatus.FinishedStopped;
                request.StopReason = last;
                return true;
            }
        }
        if (request.NumTokens >= Config.MaxModelLen || (p.MaxTokens is int max && request.NumOutputTokens >= max))
        {
            request.Status = RequestStatus.FinishedLength;
            return true;
        }
        return false;
    }

    static bool Contains(IReadOnlyList<int> list, int value)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == value) return true;
        return false;
    }

    /// <summary>Tokens computed or scheduled in steps in flight: where the request's next step starts.</summary>
    static int PlannedTokens(Request request) => request.NumComputedTokens + request.NumInFlightTokens;

    /// <summary>
    /// Async scheduling: the tokens in flight already take the request to max_tokens or max_model_len, so it will
    /// finish by length when they arrive and gets no further placeholder.
    /// </summary>
    bool AtLengthLimit(Request request)
    {
        int pending = request.NumOutputPlaceholders;
        if (pending == 0) return false;
        return request.NumTokens + pending >= Config.MaxModelLen
            || (request.SamplingParams.MaxTokens is int max && request.NumOutputTokens + pending >= max);
    }

    /// <summary>
    /// Async scheduling: counts the request's tokens of the step just planned as in flight, and when the step reaches the
    /// end of its tokens (it will sample one) adds a placeholder for that token, so the next step can already schedule
    /// the decode that follows it. The runner appends the sampled token itself before it runs that step.
    /// </summary>
    void MarkScheduled(Request request, int numScheduled)
    {
        if (!Config.AsyncScheduling) return;
        request.NumInFlightTokens += numScheduled;
        if (!request.IsPooling && PlannedTokens(request) == request.NumTokens + request.NumOutputPlaceholders) request.NumOutputPlaceholders++;
    }

    /// <summary>
    /// vLLM's disable_chunked_mm_input for bidirectional ranges: a chunk [computed, computed + numNew) that would end inside
    /// a range ends before it instead (0 when the range has begun: the request waits for a step with room for the rest).
    /// </summary>
    static int CutAtBidirectionalRanges(Request request, int computed, int numNew)
    {
        int end = computed + numNew;
        foreach (var r in request.BidirectionalRanges)
            if (end > r.Start && end < r.End && computed < r.End)
                return Math.Max(0, r.Start - computed);
        return numNew;
    }

    int CapPrefill(int numNew)
    {
        int threshold = Config.LongPrefillTokenThreshold ?? 0;
        return threshold > 0 && numNew > threshold ? threshold : numNew;
    }

    /// <summary>
    /// The encoder work an encoder-decoder request (Whisper) costs when it is admitted: the runner encodes its audio in the
    /// step that first schedules it (again after a preemption, which drops the cross-attention K/V), and never after.
    /// </summary>
    static int AudioEncoderTokens(Request request)
    {
        foreach (var f in request.MultiModalFeatures)
            if (f.Audio != null) return f.EncoderTokens;
        return 0;
    }

    /// <summary>
    /// Whether encoder work of <paramref name="tokens"/> positions fits what is left of the step's encoder budget; one
    /// larger than the whole budget runs alone in a step (vLLM's budget is at least the largest item's length).
    /// </summary>
    bool FitsEncoderBudget(int tokens, int encoderBudget) => tokens <= encoderBudget || encoderBudget == Config.EncoderComputeBudget;

    /// <summary>The request's images and audio clips as the runner indexes them (NewRequestData.MmInputs).</summary>
    static IReadOnlyList<MultiModalFeature> EncoderInputs(Request request) =>
        request.MultiModalFeatures.Count == 0 ? [] : request.MultiModalFeatures.Where(f => f.IsEncoderInput).ToList();

    /// <summary>
    /// vLLM's _try_schedule_encoder_inputs: the images whose placeholder rows fall in [computed, computed + numNew) and
    /// whose encoder outputs are not cached must be encoded this step, within the step's encoder budget and the encoder
    /// cache. The first image that does not fit cuts the chunk just before it. Returns the tokens that can run; the images
    /// to encode go to <paramref name="pending"/> (shared with requests earlier in the step that have the same image).
    /// </summary>
    int ScheduleEncoderInputs(Request request, int computed, int numNew, Dictionary<string, List<int>> pending,
        HashSet<string> stepHashes, ref int encoderBudget, ref int encoderRows)
    {
        var inputs = EncoderInputs(request);
        List<int>? mine = null;
        for (int i = 0; i < inputs.Count; i++)
        {
            var f = inputs[i];
            if (f.Offset >= computed + numNew) continue;
            if (f.Offset + f.Length <= computed) continue;       // already in the KV cache
            if (stepHashes.Contains(f.Hash) || mine?.Any(j => inputs[j].Hash == f.Hash) == true) { (mine ??= new()).Add(i); continue; }
            if (EncoderCacheManager.CheckAndUpdateCache(request.RequestId, f)) continue;
            if (!EncoderCacheManager.CanAllocate(f.Length, encoderBudget, encoderRows))
            {
                numNew = Math.Max(0, f.Offset - computed);
                break;
            }
            encoderBudget -= f.Length;
            encoderRows += f.Length;
            (mine ??= new()).Add(i);
        }
        if (mine != null)
        {
            // Only images before the cut are kept.
            mine.RemoveAll(j => inputs[j].Offset >= computed + numNew);
            if (mine.Count > 0)
            {
                pending[request.RequestId] = mine;
                foreach (var j in mine) stepHashes.Add(inputs[j].Hash);
            }
        }
        return numNew;
    }

    /// <summary>Reserves the scheduled request's pending images in the encoder cache; the first request with an image encodes it.</summary>
    void AllocateEncoderInputs(Request request, List<int> pending, SchedulerOutput output)
    {
        var inputs = EncoderInputs(request);
        List<int>? encode = null;
        foreach (var i in pending)
        {
            if (EncoderCacheManager.CheckAndUpdateCache(request.RequestId, inputs[i])) continue;
            EncoderCacheManager.Allocate(request.RequestId, inputs[i]);
            (encode ??= new()).Add(i);
        }
        if (encode != null) output.ScheduledEncoderInputs[request.RequestId] = encode;
    }

    /// <summary>Drops the request's reference to each image now wholly in its KV cache (unless another of its images has the same hash and is not).</summary>
    void FreeConsumedEncoderInputs(Request request)
    {
        var inputs = request.MultiModalFeatures;
        foreach (var f in inputs)
            if (f.Offset + f.Length <= request.NumComputedTokens
                && !inputs.Any(o => o.Hash == f.Hash && o.Offset + o.Length > request.NumComputedTokens))
                EncoderCacheManager.FreeEncoderInput(request.RequestId, f);
    }

    /// <summary>
    /// Puts every running request back to waiting for recompute (the model runner lost its state, e.g. its
    /// worker crashed mid-step). Call instead of <see cref="UpdateFromOutput"/> for the step that failed; with async
    /// scheduling every step in flight is dropped with it.
    /// </summary>
    public int PreemptAllRunning()
    {
        int n = _running.Count;
        for (int i = _running.Count - 1; i >= 0; i--) Preempt(_running[i], firstValidStep: _stepSeq + 1);
        _running.Clear();
        _inFlight.Clear();
        _finishedReqIds.Clear();
        // The lost KV tensors held the cached prefixes too, and the lost runner its encoder outputs.
        KVCacheManager.ResetPrefixCache();
        EncoderCacheManager.Reset();
        return n;
    }

    Request PickPreemptionVictim()
    {
        if (Config.Policy == SchedulingPolicy.Fcfs) return _running[^1];
        var victim = _running[0];
        for (int i = 1; i < _running.Count; i++)
            if (PriorityComparer.Instance.Compare(_running[i], victim) > 0) victim = _running[i];
        return victim;
    }

    /// <param name="firstValidStep">The first step whose output for the request counts again (async scheduling).</param>
    void Preempt(Request request, long firstValidStep)
    {
        KVCacheManager.Free(request);
        EncoderCacheManager.Free(request);
        request.Status = RequestStatus.Preempted;
        request.NumComputedTokens = 0;
        request.NumInFlightTokens = 0;
        request.NumOutputPlaceholders = 0;
        request.FirstValidStep = firstValidStep;
        request.NumPreemptions++;
        NumPreemptionsTotal++;
        _waiting.AddPreempted(request);
    }

    void Finish(Request request)
    {
        KVCacheManager.Free(request);
        EncoderCacheManager.Free(request);
        // Tokens a step in flight still computes for it are discarded.
        request.NumInFlightTokens = 0;
        request.NumOutputPlaceholders = 0;
        _requests.Remove(request.RequestId);
        _finishedReqIds.Add(request.RequestId);
        NumFinishedTotal++;
    }
}
