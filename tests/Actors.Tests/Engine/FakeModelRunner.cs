using Pipeline.Models.Runner;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>
/// A model runner stand-in that keeps a real "KV cache": each slot holds the token id whose KV it would hold.
/// It writes the scheduled positions into the request's blocks, and "samples" from the token history read back
/// from those slots, so a wrong block table or a bad prefix-cache hit changes the output.
/// Token = (sum of history * 31 + length) % vocab.
/// </summary>
public sealed class FakeModelRunner : IModelExecutor
{
    sealed class State
    {
        public required List<int> Tokens;
        public required List<int> Blocks;
        public int Computed;
    }

    readonly int[] _kv;
    readonly int _blockSize;
    readonly int _vocab;
    readonly Dictionary<string, State> _states = new();

    public FakeModelRunner(int numBlocks, int blockSize, int vocab)
    {
        _kv = new int[numBlocks * blockSize];
        Array.Fill(_kv, -1);
        _blockSize = blockSize;
        _vocab = vocab;
    }

    public int NumSteps { get; private set; }

    public static int Sample(IReadOnlyList<int> history, int vocab)
    {
        long sum = 0;
        foreach (var t in history) sum += t;
        return (int)((sum * 31 + history.Count) % vocab);
    }

    public ModelRunnerOutput Execute(SchedulerOutput so)
    {
        NumSteps++;
        foreach (var id in so.FinishedReqIds) _states.Remove(id);
        foreach (var id in so.PreemptedReqIds) _states.Remove(id);
        foreach (var nr in so.ScheduledNewReqs)
        {
            Assert.False(_states.ContainsKey(nr.ReqId), $"{nr.ReqId} sent as new while the runner holds it");
            var st = new State { Tokens = nr.AllTokenIds.ToList(), Blocks = nr.BlockIds.ToList(), Computed = nr.NumComputedTokens };
            // Prefix-cache hits must already hold this request's tokens.
            for (int pos = 0; pos < st.Computed; pos++) Assert.Equal(st.Tokens[pos], _kv[Slot(st, pos)]);
            _states[nr.ReqId] = st;
        }
        var cached = so.ScheduledCachedReqs;
        for (int i = 0; i < cached.Count; i++)
        {
            var st = _states[cached.ReqIds[i]];
            Assert.Equal(st.Computed, cached.NumComputedTokens[i]);
            st.Blocks.AddRange(cached.NewBlockIds[i]);
        }
        int total = 0;
        foreach (var (id, n) in so.NumScheduledTokens)
        {
            var st = _states[id];
            Assert.True(n > 0);
            Assert.True(st.Computed + n <= st.Tokens.Count, $"{id}: scheduled past its known tokens");
            Assert.True(st.Blocks.Count * _blockSize >= st.Computed + n, $"{id}: not enough slots");
            Assert.Equal(st.Blocks.Count, st.Blocks.Distinct().Count());
            for (int pos = st.Computed; pos < st.Computed + n; pos++) _kv[Slot(st, pos)] = st.Tokens[pos];
            total += n;
        }
        Assert.Equal(total, so.TotalNumScheduledTokens);
        var output = new ModelRunnerOutput();
        foreach (var (id, n) in so.NumScheduledTokens)
        {
            var st = _states[id];
            st.Computed += n;
            int[] sampled = Array.Empty<int>();
            if (st.Computed == st.Tokens.Count)
            {
                var history = new int[st.Computed];
                for (int pos = 0; pos < st.Computed; pos++) history[pos] = _kv[Slot(st, pos)];
                Assert.Equal(st.Tokens, history);
                int t = Sample(history, _vocab);
                st.Tokens.Add(t);
                sampled = [t];
            }
            output.ReqIds.Add(id);
            output.SampledTokenIds.Add(sampled);
            output.Logprobs.Add(null);
            output.PromptLogprobs.Add(null);
        }
        return output;
    }

    int Slot(State st, int pos) => st.Blocks[pos / _blockSize] * _blockSize + pos % _blockSize;
}
