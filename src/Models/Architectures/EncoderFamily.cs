namespace Pipeline.Models.Architectures;

/// <summary>Hugging Face weight names of a BERT-style encoder checkpoint (without the 'bert.'/'roberta.' prefix), declared as data.</summary>
public sealed record EncoderWeightNames(
    string WordEmbeddings, string PositionEmbeddings, string TokenTypeEmbeddings, string EmbeddingsNorm,
    string LayerFormat, string Query, string Key, string Value, string AttentionOutput, string AttentionNorm,
    string Intermediate, string Output, string OutputNorm, string Pooler)
{
    public string LayerPrefix(int i) => string.Format(LayerFormat, i);

    public static readonly EncoderWeightNames Bert = new(
        "embeddings.word_embeddings", "embeddings.position_embeddings", "embeddings.token_type_embeddings", "embeddings.LayerNorm",
        "encoder.layer.{0}.", "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
        "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm", "pooler.dense");
}

/// <summary>The classification head a sequence-classification encoder carries.</summary>
public enum EncoderHead
{
    /// <summary>Base model: hidden states only.</summary>
    None,
    /// <summary>BERT: pooler (dense + tanh on [CLS]) then 'classifier'.</summary>
    BertPoolerClassifier,
    /// <summary>RoBERTa / XLM-R: 'classifier.dense' + tanh then 'classifier.out_proj' on &lt;s&gt;.</summary>
    RobertaClassifier,
}

/// <summary>
/// What distinguishes one BERT-like encoder from another: the checkpoint prefix of a task model ('bert.', 'roberta.'),
/// and whether position ids start after the padding index (RoBERTa) or at 0 (BERT).
/// </summary>
public sealed record EncoderFamily(string Name, string Prefix, bool PaddingOffsetPositions, EncoderWeightNames Names)
{
    public static readonly EncoderFamily Bert = new("bert", "bert.", false, EncoderWeightNames.Bert);
    public static readonly EncoderFamily Roberta = new("roberta", "roberta.", true, EncoderWeightNames.Bert);
    public static readonly EncoderFamily XLMRoberta = new("xlm-roberta", "roberta.", true, EncoderWeightNames.Bert);
}
