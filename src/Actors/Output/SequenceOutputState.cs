using Pipeline.Actors.Engine;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Actors.Output;

/// <summary>
/// One output sequence being assembled: token ids, logprobs, and text through the incremental detokenizer and
/// the stop-string checker (which holds text back while a stop string may still be forming).
/// </summary>
public sealed class SequenceOutputState
{
    readonly IncrementalDetokenizer? _detok;
    readonly StopChecker? _stop;
    readonly bool _includeStopToken;
    readonly List<int> _tokens = new();
    readonly List<TokenLogprobs> _logprobs = new();
    readonly System.Text.StringBuilder _text = new();
    int _sentTokens, _sentLogprobs, _sentText;
    bool _finishSent;

    public int Index { get; }
    public string? FinishReason { get; private set; }
    public object? StopReason { get; private set; }
    public bool Finished => FinishReason != null;
    public bool WantsLogprobs { get; }

    public SequenceOutputState(int index, SamplingParams sp, HfTokenizer? tokenizer, IReadOnlyList<int> promptTokenIds)
    {
        Index = index;
        WantsLogprobs = sp.Logprobs != null;
        _includeStopToken = sp.IncludeStopStrInOutput;
        if (tokenizer != null && sp.Detokenize)
            _detok = new IncrementalDetokenizer(tokenizer, promptTokenIds, sp.SkipSpecialTokens, sp.SpacesBetweenSpecialTokens);
        if (sp.Stop.Count > 0)
        {
            if (_detok == null) throw new SamplingParamsException("stop", "stop strings need detokenization (a tokenizer and detokenize=true)");
            _stop = new StopChecker(sp.Stop, sp.IncludeStopStrInOutput);
        }
    }

    /// <summary>Folds in one engine output; returns true when a stop string ended the sequence (the engine must be told).</summary>
    public bool Apply(EngineCoreOutput o)
    {
        if (Finished) return false;
        for (int i = 0; i < o.NewTokenIds.Count; i++)
        {
            int id = o.NewTokenIds[i];
            _tokens.Add(id);
            if (o.NewLogprobs != null && i < o.NewLogprobs.Count) _logprobs.Add(o.NewLogprobs[i]);
            if (_detok == null) continue;
            // Like vLLM, the EOS or stop_token_ids token that ended the request is not text (it shows when special tokens are kept).
            if (i == o.NewTokenIds.Count - 1 && o.FinishReason == Pipeline.Actors.Engine.FinishReason.Stop && !_includeStopToken) continue;
            var delta = _detok.Append(id);
            if (_stop == null) { _text.Append(delta); continue; }
            var r = _stop.Append(delta);
            _text.Append(r.Emit);
            if (r.Stopped)
            {
                FinishReason = "stop";
                StopReason = _stop.MatchedStopString;
                return true;
            }
        }
        if (o.FinishReason is { } reason)
        {
            if (_stop != null) _text.Append(_stop.Flush());
            FinishReason = reason.ToApiString();
            StopReason = o.StopReason;
        }
        return false;
    }

    public CompletionOutput Cumulative() => new(Index, _text.ToString(), _tokens.ToArray(), WantsLogprobs ? _logprobs.ToArray() : null, FinishReason, StopReason);

    /// <summary>Whether <see cref="Delta"/> has anything new: tokens, text, or the finish not yet reported.</summary>
    public bool HasDelta => _tokens.Count > _sentTokens || _text.Length > _sentText || (Finished && !_finishSent);

    /// <summary>What was added since the last delta (and marks it sent).</summary>
    public CompletionOutput Delta()
    {
        _finishSent = Finished;
        var text = _text.ToString(_sentText, _text.Length - _sentText);
        var tokens = _tokens.GetRange(_sentTokens, _tokens.Count - _sentTokens).ToArray();
        var lps = WantsLogprobs ? _logprobs.GetRange(_sentLogprobs, _logprobs.Count - _sentLogprobs).ToArray() : null;
        _sentText = _text.Length; _sentTokens = _tokens.Count; _sentLogprobs = _logprobs.Count;
        return new CompletionOutput(Index, text, tokens, lps, FinishReason, StopReason);
    }
}
