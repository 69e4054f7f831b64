using Recurrent.Data;
using Recurrent.Distributed;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Optimizers;
using Recurrent.Tensors;

namespace Recurrent.Training;

/// <summary>
/// One step of truncated backpropagation through time as char-rnn does it (B = batch, T = seq_len):
///   chunk k = step mod (chunks per epoch) of the B contiguous training streams, inputs and targets [T, B];
///   the state after chunk k starts chunk k+1 (no gradient flows back into it) and is zeroed at each epoch's start;
///   loss = mean cross-entropy over the B·T positions; gradients clipped element-wise (--clip-value), then by global
///   norm (--clip); one optimizer step.
/// In data-parallel training each rank reads a contiguous share of the B streams and carries their states; the
/// gradients, each of its share's mean, are weighted by the share's size and summed over the ranks
/// (<see cref="GradientReducer"/>), so every rank takes the step one process would have taken on all B streams.
/// Because the data position is a function of the step and every random draw comes from a saved Rng, a model built
/// from a checkpoint continues exactly as the uninterrupted run would have.
/// </summary>
public sealed class Trainer : ITaskTrainer
{
    /// <summary>The character language model being trained.</summary>
    public CharLanguageModel Model { get; }
    ITaskModel ITaskTrainer.Model => Model;
    /// <inheritdoc/>
    public Optimizer Optimizer { get; }
    /// <inheritdoc/>
    public TrainingSettings Settings { get; }
    /// <inheritdoc/>
    public TrainingProgress Progress { get; }
    /// <summary>The state carried from the last chunk to the next, of all B streams: per layer [1, B, H]. In
    /// data-parallel training each rank carries its share's and gathers the whole for a checkpoint.</summary>
    public RecurrentState Carried { get; }
    /// <summary>The ranks training together (one process: <see cref="SingleProcess"/>).</summary>
    public ICollective Group { get; }

    private readonly BatchStreams _train;
    private readonly ReadOnlyMemory<int> _validation;
    private readonly int[] _inputs, _targets;
    private readonly int _first, _streams;  // this rank's streams: [_first, _first + _streams)
    private readonly RecurrentState _mine;  // their carried state (Carried itself in one process)
    private readonly GradientReducer _reducer;
    private readonly Rng _sampleRng;
    private readonly TokenSampler _sampler;

    /// <summary>
    /// A trainer over <paramref name="corpus"/>'s training part in <see cref="BatchStreams"/> of the settings' batch and
    /// seq_len, continuing from <paramref name="progress"/> with <paramref name="carried"/> as the state between chunks.
    /// In data-parallel training <paramref name="group"/> holds the ranks (default: this process alone) and
    /// <paramref name="overlap"/> sums each layer's gradients over them while backward goes on below it.
    /// Throws <see cref="ArgumentException"/> when carried is not for that batch, or the batch has fewer streams than
    /// the group has ranks.
    /// </summary>
    public Trainer(CharLanguageModel model, Optimizer optimizer, TrainingSettings settings, CharCorpus corpus,
        TrainingProgress progress, RecurrentState carried, ICollective? group = null, bool overlap = false)
    {
        Model = model; Optimizer = optimizer; Settings = settings; Progress = progress; Carried = carried;
        Group = group ?? SingleProcess.Instance;
        _train = new BatchStreams(corpus.Train, settings.Batch, settings.SeqLen);
        if (carried.Batch != settings.Batch)
            throw new ArgumentException($"the carried state is for a batch of {carried.Batch}, training uses {settings.Batch}");
        if (settings.Batch < Group.Size)
            throw new ArgumentException($"a batch of {settings.Batch} streams cannot be shared by {Group.Size} ranks (--batch must be at least the number of ranks)");
        SameRun.Require(Group, settings, model, progress);
        (_first, _streams) = Group.Share(settings.Batch);
        _mine = Group.Size == 1 ? carried : model.NewState(_streams);
        if (Group.Size > 1) _mine.CopyFrom(carried, _first);
        _reducer = new GradientReducer(Group, optimizer.Parameters, overlap);
        if (_reducer.Overlap) model.GradientsReady = _reducer.Ready;
        if (Group.Rank > 0) model.DropoutRngState = RankRng.For(model.DropoutRngState, progress.RankDropoutRngStates, Group.Rank);
        _validation = corpus.Validation;
        _inputs = new int[_train.SeqLen * _streams];
        _targets = new int[_train.SeqLen * _streams];
        _sampleRng = Rng.FromState(progress.SampleRngState);
        _sampler = new TokenSampler(model.Config.VocabSize, (float)settings.SampleTemperature, topK: 0);
    }

    /// <summary>The optimizer the settings ask for, over the given parameters, averaging them when they say so.</summary>
    public static Optimizer CreateOptimizer(TrainingSettings settings, IEnumerable<Parameter> parameters)
    {
        var optimizer = CreateOptimizer(settings.Optimizer, parameters, (float)settings.LearningRate, (float)settings.WeightDecay);
        if (settings.Ema > 0) optimizer.AverageWeights((float)settings.Ema);
        return optimizer;
    }

    /// <summary>The optimizer the settings name, over the model's parameters (AdamW's decay defaults to PyTorch's 0.01
    /// when none is given; the others' to 0).</summary>
    public static Optimizer CreateOptimizer(string kind, IEnumerable<Parameter> parameters, float lr, float weightDecay = 0) => kind switch
    {
        "adam" => new Adam(parameters, lr, weightDecay: weightDecay),
        "adamw" => new AdamW(parameters, lr, weightDecay: weightDecay == 0 ? 0.01f : weightDecay),
        "rmsprop" => new RmsProp(parameters, lr, weightDecay: weightDecay),
        "adagrad" => new Adagrad(parameters, lr, eps: 1e-8f, weightDecay: weightDecay),
        "sgd" => new Sgd(parameters, lr, weightDecay: weightDecay),
        _ => throw new ArgumentException($"unknown optimizer '{kind}' (optimizers: {string.Join(", ", TrainingSettings.Optimizers)})"),
    };

    /// <summary>Chunks of T steps in one pass over the training streams.</summary>
    public int ChunksPerEpoch => _train.ChunksPerEpoch;
    /// <summary>One step per chunk: <see cref="ChunksPerEpoch"/>.</summary>
    public long StepsPerEpoch => ChunksPerEpoch;
    /// <summary>The effective T: seq_len, or the stream length when that is shorter (full BPTT).</summary>
    public int SeqLen => _train.SeqLen;
    /// <summary>Characters read per step: T·B.</summary>
    public int TokensPerStep => _train.SeqLen * _train.Batch;
    /// <summary>Epochs done, fractional: Progress.Step / ChunksPerEpoch.</summary>
    public double Epoch => (double)Progress.Step / ChunksPerEpoch;
    /// <summary>The corpus has a validation part (at least 2 characters).</summary>
    public bool HasValidation => _validation.Length >= 2;

    /// <summary>Trains on the next chunk; returns its loss (nats/char) and the gradient norm before clipping.</summary>
    public StepResult Step()
    {
        int chunk = (int)(Progress.Step % ChunksPerEpoch);
        if (chunk == 0) _mine.Reset();
        _train.Fill(chunk, _inputs, _targets, _first, _streams);
        Model.Training = true;
        Model.Forward(_inputs, _train.SeqLen, _streams, _mine);
        float loss = Model.Loss(_targets);
        Optimizer.ZeroGrad();
        _reducer.Begin(_streams, _train.Batch);
        Model.Backward();
        _reducer.Finish();
        if (Group.Size > 1) loss = MeanOverRanks(loss);
        float norm = GradientClipping.Apply(Optimizer.Parameters, Settings.Clip, Settings.ClipValue);
        // A non-finite step changes no weight (TrainingRun stops or skips it); the state it carried may hold NaN.
        if (float.IsFinite(loss) && float.IsFinite(norm)) Optimizer.Step(); else _mine.Reset();
        Progress.Step++;
        Progress.Tokens += TokensPerStep;
        return new StepResult(loss, norm, TokensPerStep);
    }

    // The global batch's mean loss from each rank's mean over its share of the streams.
    private float MeanOverRanks(float loss)
    {
        Span<double> weighted = [(double)loss * _streams / _train.Batch];
        Group.Sum(weighted);
        return (float)weighted[0];
    }

    /// <summary>Mean loss over the whole validation text (each rank reads its share of the streams).</summary>
    public ValidationResult Validate() => new(Evaluator.MeanLoss(Model, _validation, Settings.Batch, Settings.SeqLen, Group));

    /// <summary>A sample at the settings' temperature, from the default prime, drawn from the saved sampling Rng.</summary>
    public string? Sample(int length)
    {
        var sampler = new CharLanguageModelSampler(Model, _sampler, _sampleRng);
        string text = sampler.Generate(CharLanguageModelSampler.DefaultPrime(Model.Config.Vocabulary), length);
        Progress.SampleRngState = _sampleRng.State;
        return text;
    }

    /// <summary>The carried state of all B streams as "carry.*" tensors, so a resumed run starts its next chunk from
    /// it; in data-parallel training every rank must call it (it gathers the shares).</summary>
    public IEnumerable<(string Name, Tensor Value)> ExtraState()
    {
        if (Group.Size > 1)
        {
            Carried.Reset();
            _mine.CopyTo(Carried, _first);
            foreach (var (_, tensor) in Carried.Named()) Group.Sum(tensor.Span);
        }
        return Carried.Named().ToArray();
    }

    /// <inheritdoc/>
    public void Dispose() => _reducer.Dispose();
}
