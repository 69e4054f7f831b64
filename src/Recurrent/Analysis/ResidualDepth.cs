using System.Diagnostics;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Analysis;

/// <summary>
/// The lecture's skip-connection experiment: LSTM char-LMs of L layers with and without residual connections
/// (h^k = LSTM_k(h^{k−1}) + h^{k−1} for k ≥ 1), trained the same number of steps on the same text from the same seed,
/// their validation loss measured every few steps. A deep plain stack starts with its input buried under L layers of
/// small-init LSTMs: the head sees almost nothing of it, so the model sits at the unigram loss (≈ 3.3 nats/char on
/// tiny-shakespeare) until the layers line up; the residual stack hands h^0 (and every layer's correction) straight to
/// the head, and the gradient straight back down, so it learns from the first steps.
///
/// Training is char-rnn's (<see cref="Trainer"/>: truncated BPTT over B contiguous streams, Adam, global-norm clip),
/// with no dropout (the comparison is about optimization, not regularization). Validation is the mean loss over the
/// first <see cref="ResidualDepthSettings.ValidationChars"/> characters of the held-out tenth (<see cref="Evaluator"/>),
/// a fixed slice so each point costs the same and the curves compare.
/// </summary>
public static class ResidualDepth
{
    /// <summary>Trains one model and returns its validation curve; <paramref name="progress"/> hears of each evaluation.</summary>
    public static ResidualDepthRun Train(CharCorpus corpus, int layers, bool residual, ResidualDepthSettings s,
        Action<ResidualDepthRun>? progress = null)
    {
        s.Validate();
        if (layers < 1) throw new ArgumentException($"layers must be ≥ 1, got {layers}");
        if (corpus.Validation.Length < 2) throw new ArgumentException($"{corpus.Source} has no validation text");
        var config = new CharLanguageModelConfig(CellKind.Lstm, corpus.Vocabulary, s.Embedding, s.Hidden, layers, 0f, residual);
        var model = new CharLanguageModel(config, new Rng(s.Seed));
        var optimizer = Trainer.CreateOptimizer("adam", model.Parameters(), (float)s.LearningRate);
        var settings = new TrainingSettings
        {
            Data = corpus.Source, DataSha256 = "", Optimizer = "adam", LearningRate = s.LearningRate, Clip = s.Clip,
            SeqLen = s.SeqLen, Batch = s.Batch, Seed = s.Seed, MaxSteps = s.Steps,
        };
        var trainer = new Trainer(model, optimizer, settings, corpus,
            new TrainingProgress { SampleRngState = new Rng(s.Seed).State }, model.NewState(s.Batch));
        var validation = corpus.Validation[..Math.Min(corpus.Validation.Length, s.ValidationChars)];

        var curve = new List<(long Step, double ValLoss)>();
        double seconds = 0;
        var run = new ResidualDepthRun(layers, residual, model.ParameterCount(), curve, 0);
        void Evaluate()
        {
            curve.Add((trainer.Progress.Step, Evaluator.MeanLoss(model, validation, s.Batch, s.SeqLen)));
            progress?.Invoke(run with { Seconds = seconds });
        }

        Evaluate(); // step 0: the untrained model, ≈ ln V
        while (trainer.Progress.Step < s.Steps)
        {
            long t0 = Stopwatch.GetTimestamp();
            trainer.Step();
            seconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (trainer.Progress.Step % s.EvalEvery == 0 || trainer.Progress.Step == s.Steps) Evaluate();
        }
        return run with { Seconds = seconds };
    }

    /// <summary>
    /// The plateau a model that ignores its input sits on: the cross-entropy (nats/char) of the validation slice under
    /// the training text's character frequencies, add-one smoothed (a character unseen in training still costs a
    /// finite amount): −(1/N) Σ log p(c), p(c) = (count(c) + 1) / (train length + V).
    /// </summary>
    public static double UnigramLoss(CharCorpus corpus, int validationChars)
    {
        var counts = new long[corpus.Vocabulary.Count];
        foreach (int c in corpus.Train.Span) counts[c]++;
        double total = corpus.TrainLength + counts.Length;
        var validation = corpus.Validation.Span[..Math.Min(corpus.Validation.Length, validationChars)];
        if (validation.Length == 0) throw new ArgumentException($"{corpus.Source} has no validation text");
        double sum = 0;
        foreach (int c in validation) sum -= Math.Log((counts[c] + 1) / total);
        return sum / validation.Length;
    }
}

/// <summary>The sizes and schedule every run of the experiment shares.</summary>
/// <param name="ValidationChars">how many characters from the start of the held-out text each evaluation reads.</param>
/// <param name="Hidden">H: units per layer.</param>
/// <param name="Embedding">E: embedding width (0 = one-hot input).</param>
/// <param name="SeqLen">T: characters per training chunk.</param>
/// <param name="Batch">B: parallel streams.</param>
/// <param name="Steps">optimizer steps per model.</param>
/// <param name="EvalEvery">steps between validations.</param>
/// <param name="LearningRate">Adam's learning rate.</param>
/// <param name="Clip">the global gradient norm clip.</param>
/// <param name="Seed">the seed of every model's weights and dropout.</param>
public sealed record ResidualDepthSettings(int Hidden, int Embedding, int SeqLen, int Batch, int Steps, int EvalEvery,
    int ValidationChars, double LearningRate = 2e-3, double Clip = 5, ulong Seed = 1)
{
    /// <summary>Throws a one-line <see cref="ArgumentException"/> for a size, step count or rate out of range.</summary>
    public void Validate()
    {
        if (Hidden < 1) throw new ArgumentException($"hidden must be ≥ 1, got {Hidden}");
        if (Embedding < 0) throw new ArgumentException($"embedding must be ≥ 0 (0 = one-hot), got {Embedding}");
        if (SeqLen < 1 || Batch < 1) throw new ArgumentException($"seq-len and batch must be ≥ 1, got {SeqLen} and {Batch}");
        if (Steps < 1 || EvalEvery < 1) throw new ArgumentException($"steps and eval-every must be ≥ 1, got {Steps} and {EvalEvery}");
        if (ValidationChars < 2) throw new ArgumentException($"validation characters must be ≥ 2, got {ValidationChars}");
        if (!(LearningRate > 0)) throw new ArgumentException($"learning rate must be > 0, got {LearningRate}");
    }
}

/// <summary>One model's result: its validation loss (nats/char) at step 0, every EvalEvery steps and the last step, and
/// the seconds its training steps took (evaluations not counted).</summary>
public sealed record ResidualDepthRun(int Layers, bool Residual, long Parameters, IReadOnlyList<(long Step, double ValLoss)> Curve,
    double Seconds)
{
    /// <summary>The step of the last evaluation (0 without any).</summary>
    public long Steps => Curve.Count == 0 ? 0 : Curve[^1].Step;
    /// <summary>The lowest validation loss on the curve; NaN when it is empty.</summary>
    public double BestValLoss => Curve.Count == 0 ? double.NaN : Curve.Min(p => p.ValLoss);
    /// <summary>The validation loss at the last evaluation; NaN when the curve is empty.</summary>
    public double FinalValLoss => Curve.Count == 0 ? double.NaN : Curve[^1].ValLoss;
}
