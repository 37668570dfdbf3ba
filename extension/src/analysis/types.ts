/**
 * The words ChestAidService and its collaborators speak: what the viewer analyzes, what the
 * collaborators plugged into the service promise, and the state the panel renders. Types only, so
 * the panel, the triage worklist and the PACS archive read them without loading the service.
 */
import type {
  Analysis,
  CalibrationOrigin,
  SiteCalibrationStore,
  FeedbackBook,
  FeedbackDelivery,
  GreyImage,
  GroundTruth,
  ScoreChange,
  ScoreOrigin,
  Manifest,
  ModelIdentity,
  OutboxSummary,
  Refusal,
  StoredFeedback,
} from '@chestaid/core';
import type { Applicability } from '../modalities';
import type { ThresholdState } from './thresholdSetting';

/** What Analyze runs on: the image shown in the active viewport. */
export interface AnalysisTarget {
  readonly viewportId: string;
  readonly displaySetInstanceUID: string;
  readonly imageId: string;
  readonly sopInstanceUID: string;
  readonly modality: string;
  /** The image's study and series, when known: stored results are keyed by them too. */
  readonly studyInstanceUID?: string;
  readonly seriesInstanceUID?: string;
}

/**
 * Where finished analyses outlive the page (the triage result store, see triage/outcomeStore.ts).
 * Results are stored under the image, the model bytes and the calibration version.
 */
export interface OutcomeStore {
  /** The stored outcome of this image under this model and calibration, or null. */
  find(target: AnalysisTarget, model: ModelIdentity): Promise<AnalysisOutcome | null>;
  /**
   * The latest stored outcome of this image under the same model bytes but another calibration
   * version, with that version: what the panel shows as stale. Optional.
   */
  findOther?(target: AnalysisTarget, model: ModelIdentity): Promise<{ outcome: AnalysisOutcome; calibrationVersion: string } | null>;
  save(target: AnalysisTarget, outcome: AnalysisOutcome, model: ModelIdentity): Promise<void>;
  /** Keeps a refusal (not analyzed, with its reason), so the worklist shows it too. Optional. */
  saveRefusal?(target: AnalysisTarget, refusal: Refusal, model: ModelIdentity): Promise<void>;
}

/**
 * Where results are shared with every reader: the PACS, as DICOM SR (pacs/archive.ts). The
 * service knows nothing of DICOM; the archive answers in plain terms and never throws.
 */
export interface ResultArchive {
  /** Why this image's result cannot go to the archive (no PACS; a study from another source), or null. */
  unavailableReason(target: AnalysisTarget): string | null;
  /** The archived result of this image under this model and calibration, or null. */
  find(target: AnalysisTarget, model: ModelIdentity): Promise<ArchiveLookup>;
  /** Archives the result, once: a result already there is reported, not written again. */
  save(target: AnalysisTarget, outcome: AnalysisOutcome, manifest: Manifest, model: ModelIdentity): Promise<ArchiveSave>;
}

/**
 * A result found in the archive, with its verdict (core verifyResult): only a 'verified' one's
 * probability may be shown as a score; an 'unverified' one is shown with its reason, a 'conflict'
 * as such.
 */
export interface ArchivedScore {
  readonly verdict: 'verified' | 'unverified' | 'conflict';
  /** Why it is unverified or a conflict. */
  readonly reason?: string;
  readonly probability: number;
  readonly srSopInstanceUID: string;
  readonly observedAt: string;
  readonly modelId: string;
  readonly modelVersion: string;
  /**
   * For a verified SR: whether it may be shown on the image as the stored result (core
   * storedResult: the image it was computed on, its map's identity), with the map to draw or why
   * none is drawn. Absent: not asked (no image header, another archive).
   */
  readonly shown?: StoredShown;
}

/** A verified stored result on its image: the map to draw, or why it is not drawn; or why the result is not shown here at all. */
export type StoredShown =
  | {
      readonly status: 'shown';
      /** The calibration identity the SR names (the active one: only that one's result is looked up). */
      readonly calibrationVersion: string;
      /** The stored map's values on the image's grid, or null with mapProblem. */
      readonly map: GreyImage | null;
      readonly mapSopInstanceUID: string | null;
      readonly mapProblem: string | null;
    }
  | { readonly status: 'refused'; readonly reason: string };

export type ArchiveFailure = { readonly status: 'failed'; readonly kind: 'unreachable' | 'refused' | 'error'; readonly message: string };

export type ArchiveLookup = { readonly status: 'found'; readonly score: ArchivedScore } | { readonly status: 'absent' } | ArchiveFailure;

export type ArchiveSave =
  | { readonly status: 'saved'; readonly srSopInstanceUID: string; readonly heatmapProblem: string | null }
  | { readonly status: 'already-saved'; readonly srSopInstanceUID: string }
  | ArchiveFailure;

/** "Save to PACS" for the image on screen. */
export type ArchiveState =
  | { readonly status: 'unavailable'; readonly reason: string }
  | { readonly status: 'idle' | 'checking' | 'saving' }
  | ArchiveSave;

/** How an analysis ran. */
export interface RunInfo {
  readonly backend: string;
  readonly threads: number;
  /** Why this backend; for wasm it says why WebGPU was not used. */
  readonly reason: string;
  /** From pixels to result (preprocessing, transfer, the model run), model loading excluded. */
  readonly totalMs: number;
  /** The model run alone, inside the worker. */
  readonly runMs: number;
}

export interface AnalysisOutcome {
  /** resultKey(SOPInstanceUID of the pixels analyzed, sha256 of the model that scored them). */
  readonly key: string;
  readonly analysis: Analysis;
  readonly run: RunInfo;
}

export interface Analyzer {
  /** The sha256 of the ONNX file this analyzer scores with under `manifest`: the key's second half. */
  modelSha256(manifest: Manifest): string;
  analyze(target: AnalysisTarget, manifest: Manifest): Promise<AnalysisOutcome>;
  /**
   * Loads the model for `manifest` in the background, before any Analyze, where the site allows it
   * (ChestAidConfig.preloadModel): the engine then starts, verifies, warms up and is ready by the
   * time the reader asks. Never throws; a failure is reported as the runtime's state.
   */
  prepare?(manifest: Manifest): void;
}

export interface ModelInfo {
  readonly id: string;
  readonly version: string;
  readonly sha256: string;
  readonly synthetic: boolean;
  readonly disclaimer: string;
  readonly calibrationMethod: Manifest['calibration']['selected'];
  readonly calibrationVersion: string;
  /** Where the active calibration came from (training or a site version), and when. */
  readonly calibration: CalibrationOrigin;
  /** What is shown next to every score, e.g. "calibration site-2 (site, 2026-11-26)". */
  readonly calibrationLabel: string;
}

export type ModelState =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly info: ModelInfo }
  | { readonly status: 'error'; readonly message: string };

/** The inference runtime: model download, then the backend it runs on. */
export type RuntimeState =
  | { readonly status: 'idle' }
  | { readonly status: 'loading'; readonly loaded: number; readonly total: number | null }
  | { readonly status: 'ready'; readonly backend: string; readonly threads: number; readonly reason: string }
  | { readonly status: 'error'; readonly message: string };

/**
 * How the Grad-CAM layer is drawn, for every viewport: each viewport shows the layer of its own
 * image's result, and only that.
 */
export interface HeatmapSettings {
  readonly visible: boolean;
  /** Opacity of the attention map, in [0, 1]. */
  readonly opacity: number;
  /** The attention map, the outline of the region at or above `outlineLevel`, or both. */
  readonly layers: 'attention' | 'outline' | 'both';
  /** Attention level (0, 1] the outline encloses. */
  readonly outlineLevel: number;
}


/** What a viewport's heatmap layer draws: a map in [0, 1] and a key naming its contents (a new key redraws). */
export interface HeatmapSource {
  readonly key: string;
  readonly cam: GreyImage;
}

/** A CR/DX image of the open study, as the panel lists it. */
export interface StudyImage {
  readonly displaySetInstanceUID: string;
  readonly imageId: string;
  readonly sopInstanceUID: string;
  readonly modality: string;
  /** How a reader tells the images apart: series description and instance number. */
  readonly label: string;
  readonly studyInstanceUID?: string;
  readonly seriesInstanceUID?: string;
  /** The study's date (DICOM DA, YYYYMMDD), when known. */
  readonly studyDate?: string;
}

/** An image of the current or the prior study, with its score where one is shown (this session's or a verified stored one). */
export interface ComparedImage {
  readonly image: StudyImage;
  /** null: not scored under the model in use (Analyze it). */
  readonly score: ScoreOrigin | null;
  readonly source: 'analysis' | 'stored' | null;
}

/**
 * The current study's image beside the patient's prior (the hanging protocol loads it): each one's
 * score and the change, current minus prior (core scoreChange), once both are scored.
 */
export interface PriorComparison {
  readonly current: ComparedImage;
  readonly prior: ComparedImage;
  readonly change: ScoreChange | null;
}

/** One row of the panel's image list: the image and where its analysis stands. */
export interface ImageRow {
  readonly image: StudyImage;
  /**
   * stale: a result computed under another calibration version (outcome holds it; not current).
   * not-analyzed: the model card excludes the image (refusal holds why): no score, ever.
   */
  readonly status: 'idle' | 'running' | 'done' | 'stale' | 'not-analyzed' | 'error';
  readonly outcome?: AnalysisOutcome;
  readonly refusal?: Refusal;
  readonly message?: string;
  /** Whether it is the image in the active viewport. */
  readonly active: boolean;
}

/** "Analyze all images": where the run stands (null when none has run in this study). */
export interface BatchState {
  readonly running: boolean;
  readonly done: number;
  readonly total: number;
  readonly cancelled: boolean;
}

/** The analysis of the active image, if any. */
export type AnalysisState =
  | { readonly status: 'idle' }
  | { readonly status: 'running'; readonly target: AnalysisTarget }
  | { readonly status: 'done'; readonly target: AnalysisTarget; readonly outcome: AnalysisOutcome }
  /** A result computed under another calibration version: shown as such, with a way to re-analyze. */
  | { readonly status: 'stale'; readonly target: AnalysisTarget; readonly outcome: AnalysisOutcome; readonly calibrationVersion: string }
  /**
   * Not analyzed in this session, but the PACS holds a verified result of this image under the
   * model and calibration in use, shown as "stored result, <date>, model <version>" with its
   * stored map (when that verified too). Analyze replaces it.
   */
  | { readonly status: 'stored'; readonly target: AnalysisTarget; readonly stored: ArchivedScore & { readonly shown: StoredShown & { readonly status: 'shown' } } }
  /** Refused before (or instead of) a score: shown as "Not analyzed: <reason>", no heatmap, nothing to save. */
  | { readonly status: 'not-analyzed'; readonly target: AnalysisTarget; readonly refusal: Refusal }
  | { readonly status: 'error'; readonly message: string };

/** The reader's ground truth for the active image's result. */
export interface FeedbackState {
  /** The configured reader name ('unknown' when none). */
  readonly reader: string;
  /** Whether feedback can be recorded here at all (a book is plugged in). */
  readonly available: boolean;
  readonly status: 'idle' | 'loading' | 'saving' | 'saved' | 'error';
  /** This reader's current label of the active image, if any. */
  readonly mine: StoredFeedback | null;
  /** Other readers' current labels of the active image. */
  readonly others: readonly { readonly reader: string; readonly label: GroundTruth; readonly at: string }[];
  /** Readers' current labels contradict each other (pneumonia vs normal). */
  readonly conflict: boolean;
  readonly message: string | null;
  /** Where `mine` stands on its way to the PACS (feedback outbox); absent or null: not bound for it. */
  readonly delivery?: FeedbackDelivery | null;
}

/**
 * Whether the browser keeps ChestAid's storage (results, feedback, the browser calibration log)
 * under storage pressure: 'persistent' (navigator.storage.persist() granted), 'best-effort' (asked
 * and refused: the browser may clear it), 'unavailable' (this browser offers no StorageManager).
 */
export type StoragePersistence = 'persistent' | 'best-effort' | 'unavailable';

export interface ChestAidState {
  readonly model: ModelState;
  /** null until a study's display sets are known. */
  readonly study: Applicability | null;
  readonly analysis: AnalysisState;
  readonly runtime: RuntimeState;
  /** null until the manifest is loaded. */
  readonly threshold: ThresholdState | null;
  /** Set when the host viewer breaks an assumption checked at run time (see hostCheck.ts). */
  readonly hostProblem: string | null;
  readonly heatmap: HeatmapSettings;
  /** The study's CR/DX images with their results; empty until the study's display sets are known. */
  readonly images: readonly ImageRow[];
  readonly batch: BatchState | null;
  /** Save to PACS for the active image. */
  readonly archive: ArchiveState;
  /** The active image's result as the PACS holds it (any reader's), or null. */
  readonly archived: ArchivedScore | null;
  readonly feedback: FeedbackState;
  /** What the browser said when asked to persist ChestAid's storage; absent until it answered. */
  readonly storage?: StoragePersistence;
  /** The feedback outbox (readings waiting for the PACS, refused, landed); absent: no PACS to send to. */
  readonly outbox?: OutboxSummary;
  /** The current study beside the patient's prior, when the viewer shows both; absent or null otherwise. */
  readonly comparison?: PriorComparison | null;
}

/** The calibration log of a model (by sha256), or null to use the manifest's own calibration. */
export type SiteCalibrationStoreFor = (modelSha256: string) => SiteCalibrationStore | null;

/**
 * An image under the model and calibration in use: what results are kept, stored and archived
 * under. Only ever built when the key could be computed.
 */
export interface ScoredImage {
  readonly target: AnalysisTarget;
  readonly manifest: Manifest;
  /** resultKey(SOPInstanceUID, model sha256). */
  readonly key: string;
  readonly model: ModelIdentity;
}

/**
 * What ChestAidService works with, handed over by ChestAidService.configure(). A field left out
 * (or undefined) keeps what the service had; null means none.
 */
export interface ChestAidDeps {
  /** How pixels reach the model (analyzer.ts); none: Analyze says so. */
  readonly analyzer?: Analyzer | null;
  /** Where results outlive the page (the triage result store); none: memory only. */
  readonly outcomeStore?: OutcomeStore | null;
  /** Where results are shared with other readers (the PACS); none: Save to PACS says why. */
  readonly archive?: ResultArchive | null;
  /** Where the site's calibration log lives, per model sha256; none: the manifest's calibration. */
  readonly calibrationStoreFor?: SiteCalibrationStoreFor | null;
  /** Where the readers' ground truth is kept; none: the panel offers no feedback. */
  readonly feedbackBook?: FeedbackBook | null;
  /**
   * The reader's name, stored with each feedback; blank or null: 'unknown'. A function is asked
   * at each use (the logged-in user, who may arrive after registration).
   */
  readonly reader?: string | null | (() => string | null);
  /**
   * Which ONNX file of the manifest the site runs (ChestAidConfig.modelFile): null, the manifest's
   * own (onnx.file); a variant's file name (model.int8.onnx), that variant under its own
   * calibration. Given before the manifest loads; a change after reloads it.
   */
  readonly modelFile?: string | null;
}
