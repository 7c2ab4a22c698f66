using Pipeline.Models.Forward;
using Pipeline.Models.Architectures;
using Pipeline.Models.Layers;
using Pipeline.Models.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Runner;

/// <summary>One finished generation.</summary>
public sealed record GenerationResult(
    IReadOnlyList<int> PromptTokenIds,
    IReadOnlyList<int> TokenIds,
    IReadOnlyList<TokenLogprobs?> Logprobs,
    string FinishReason);

/// <summary>
/// Runs a fixed batch of prompts to completion: one flat prefill forward for all prompts, then batched decode
/// steps, over a paged KV cache where each sequence holds the blocks its full length needs.
/// The continuous-batching engine replaces this for serving; it stays as the simplest reference path.
/// </summary>
public sealed class BatchGenerator(ICausalLM model, int blockSize = 16, int? maxModelLen = null)
{
    readonly Sampler _sampler = new();

    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<IReadOnlyList<int>> prompts, SamplingParams sp, IReadOnlyCollection<int> eosTokenIds)
    {
        sp.Validate(model.Config.VocabSize);
        int n = prompts.Count;
        if (n == 0) return [];
        int maxLen = maxModelLen ?? model.Config.DerivedMaxModelLen;
        var maxTokens = new int[n];
        var blockTables = new int[n][];
        int nextBlock = 0;
        for (int i = 0; i < n; i++)
        {
            if (prompts[i].Count == 0) throw new ArgumentException($"prompt {i} is empty");
            if (prompts[i].Count >= maxLen)
                throw new ArgumentException($"prompt {i} has {prompts[i].Count} tokens, which leaves no room to generate within max_model_len {maxLen}");
            foreach (var id in prompts[i])
                if (id < 0 || id >= model.Config.VocabSize)
                    throw new ArgumentException($"prompt {i}: token id {id} is out of vocabulary range [0, {model.Config.VocabSize})");
            maxTokens[i] = sp.MaxTokens ?? Math.Max(1, maxLen - prompts[i].Count);
            int total = prompts[i].Count + maxTokens[i];
            int blocks = (total + blockSize - 1) / blockSize;
            blockTables[i] = Enumerable.Range(nextBlock, blocks).ToArray();
            nextBlock += blocks;
        }
        var backend = AttentionBackends.For(model);
        using var cache = OneShotForward.AllocateCache(model, nextBlock, blockSize, backend, numStateSlots: n);
        var outputs = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        var logprobs = Enumerable.Range(0, n).Select(_ => new List<TokenLogprobs?>()).ToArray();
        var finish = new string?[n];
        var generators = Enumerable.Range(0, n).Select(i => sp.Seed is long s ? new Generator((ulong)(s + i)) : null).ToArray();
        var stopIds = new HashSet<int>(sp.StopTokenIds);
        if (!sp.IgnoreEos) stopIds.UnionWith(eosTokenIds);

        try
        {
            using var _ = torch.no_grad();
            // Step 0 prefills every prompt; later steps decode one token for each unfinished sequence.
            var active = Enumerable.Range(0, n).ToList();
            bool prefill = true;
            while (active.Count > 0)
            {
                var seqs = new List<SequenceSlice>();
                var tokens = new List<long>();
                foreach (var i in active)
                {
                    int seqLen = prompts[i].Count + outputs[i].Count;
                    int q = prefill ? prompts[i].Count : 1;
                    seqs.Add(new SequenceSlice(tokens.Count, q, seqLen, blockTables[i], prompts[i].Count, StateSlot: i));
                    if (prefill) tokens.AddRange(prompts[i].Select(t => (long)t));
                    else tokens.Add(outputs[i][^1]);
                }
                int[] sampled;
                TokenLogprobs?[] lps;
                using (var scope = NewDisposeScope())
                {
                    var hidden = OneShotForward.Run(model, seqs, tokens, cache, backend);
                    var last = torch.tensor(seqs.Select(s => (long)(s.QueryStart + s.QueryLen - 1)).ToArray(), device: model.Device);
                    var logits = model.ComputeLogits(hidden.index_select(0, last));
                    (sampled, lps) = _sampler.Sample(logits, active.Select(i => new SamplingRow(sp, generators[i])).ToList());
                }
                prefill = false;
                var still = new List<int>();
                for (int j = 0; j < active.Count; j++)
                {
                    int i = active[j];
                    outputs[i].Add(sampled[j]);
                    logprobs[i].Add(lps[j]);
                    bool minReached = outputs[i].Count >= sp.MinTokens;
                    if (minReached && stopIds.Contains(sampled[j])) finish[i] = "stop";
                    else if (outputs[i].Count >= maxTokens[i] || prompts[i].Count + outputs[i].Count >= maxLen) finish[i] = "length";
                    else still.Add(i);
                }
                active = still;
            }
        }
        finally
        {
            foreach (var g in generators) g?.Dispose();
        }
        return Enumerable.Range(0, n).Select(i => new GenerationResult(prompts[i], outputs[i], logprobs[i], finish[i]!)).ToList();
    }
}
