namespace Pipeline.Models.Pooling;

/// <summary>How token hidden states become one output per input (vLLM's PoolingType).</summary>
public enum PoolingType
{
    /// <summary>The last token's hidden state.</summary>
    LAST,
    /// <summary>Every token's hidden state (token-level outputs, e.g. reward models).</summary>
    ALL,
    /// <summary>The first token's ([CLS] / &lt;s&gt;) hidden state.</summary>
    CLS,
    /// <summary>The mean over all tokens.</summary>
    MEAN,
    /// <summary>Per-step outputs: the rows of tokens equal to step_tag_id (all if unset), restricted to returned_token_ids columns.</summary>
    STEP,
}

/// <summary>What a pooling request asks for; decides the pooler defaults.</summary>
public enum PoolingTask
{
    Embed,
    Classify,
    Score,
    Reward,
}
