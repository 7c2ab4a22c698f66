using Pipeline.Actors.Engine;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Actors.Output;

/// <summary>
/// A client request's output side (vLLM's RequestState in the output processor): one <see cref="SequenceOutputState"/>
/// per sample (n), prompt logprobs, and the output kind that decides what each update carries.
/// </summary>
public sealed class RequestState
{
    readonly SequenceOutputState[] _seqs;
    readonly List<TokenLogprobs> _promptLogprobs = new();
    readonly SamplingParams _params;
    int _numCachedTokens;

    public string RequestId { get; }
    public string? Prompt { get; }
    public IReadOnlyList<int> PromptTokenIds { get; }
    public bool Finished => _seqs.All(s => s.Finished);

    public RequestState(string requestId, string? prompt, IReadOnlyList<int> promptTokenIds, SamplingParams sp, HfTokenizer? tokenizer)
    {
        RequestId = requestId;
        Prompt = prompt;
        PromptTokenIds = promptTokenIds;
        _params = sp;
        _seqs = Enumerable.Range(0, sp.N).Select(i => new SequenceOutputState(i, sp, tokenizer, promptTokenIds)).ToArray();
    }

    /// <summary>
    /// Applies an engine output for sample <paramref name="index"/>. Returns the update to deliver (null when
    /// the output kind holds it back) and whether a stop string ended that sample.
    /// </summary>
    public (RequestOutput? Update, bool StoppedByString) Apply(int index, EngineCoreOutput o)
    {
        if (o.NewPromptLogprobs != null) _promptLogprobs.AddRange(o.NewPromptLogprobs);
        _numCachedTokens = Math.Max(_numCachedTokens, o.NumCachedTokens);
        bool stopped = _seqs[index].Apply(o);
        return (MakeOutput(), stopped);
    }

    /// <summary>Ends every unfinished sample with the given reason (abort, error) and returns the final update.</summary>
    public RequestOutput? FinishAll(FinishReason reason)
    {
        foreach (var s in _seqs)
            if (!s.Finished) s.Apply(new EngineCoreOutput(RequestId, [], FinishReason: reason));
        return MakeOutput();
    }

    RequestOutput? MakeOutput()
    {
        bool finished = Finished;
        IReadOnlyList<CompletionOutput> outputs;
        switch (_params.OutputKind)
        {
            case RequestOutputKind.FinalOnly:
                if (!finished) return null;
                outputs = _seqs.Select(s => s.Cumulative()).ToArray();
                break;
            case RequestOutputKind.Delta:
                outputs = _seqs.Where(s => s.HasDelta).Select(s => s.Delta()).ToArray();
                break;
            default:
                outputs = _seqs.Select(s => s.Cumulative()).ToArray();
                break;
        }
        return new RequestOutput(RequestId, Prompt, PromptTokenIds, _params.PromptLogprobs != null ? _promptLogprobs.ToArray() : null, outputs, finished, _numCachedTokens);
    }
}
