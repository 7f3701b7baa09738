//! A job's events as the dock shows them: the stage in words, the share done, the place in the
//! queue; and failures as sentences.

use threedgpt_sdk::{ErrorKind, JobEvent, Stage};

use crate::worker::Message;

/// What the dock shows of a running job; updated by each event.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Progress {
    stage: String,
    fraction: f32,
    queue_position: u32,
}

impl Progress {
    /// The progress after `event`, when it changes what the dock shows.
    pub(crate) fn update(&mut self, event: &JobEvent) -> Option<Message> {
        let before = self.clone();
        match event {
            JobEvent::Queued { position, .. } => {
                self.queue_position = *position;
                self.stage = match position {
                    0 | 1 => "Waiting for the daemon".to_owned(),
                    position => format!("Waiting: {} jobs ahead", position - 1),
                };
            }
            JobEvent::Started { device, .. } => {
                self.queue_position = 0;
                self.stage = format!("Started on the {}", device.to_uppercase());
            }
            JobEvent::Progress { stage, fraction, .. } => {
                self.queue_position = 0;
                self.stage = stage_label(*stage).to_owned();
                // Progress never goes back, whatever order the events come in.
                self.fraction = fraction.clamp(0.0, 1.0).max(self.fraction);
            }
            _ => return None,
        }
        (*self != before).then(|| Message::Progress {
            stage: self.stage.clone(),
            fraction: self.fraction,
            queue_position: self.queue_position,
        })
    }
}

/// A stage in words.
pub(crate) fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Decode => "Reading the picture",
        Stage::Foreground => "Finding the object",
        Stage::Reconstruct => "Building the shape",
        Stage::Mesh => "Simplifying the mesh",
        Stage::Texture => "Baking the texture",
        Stage::Export => "Writing the model",
        _ => "Working",
    }
}

/// A message from the daemon or the SDK as a sentence: a capital first letter and a full stop.
pub(crate) fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut characters = text.chars();
    let mut sentence: String = match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => return "Something went wrong, with no reason given.".to_owned(),
    };
    if !sentence.ends_with(['.', '!', '?']) {
        sentence.push('.');
    }
    sentence
}

/// A job's failure for people, with what to do where the kind says.
pub(crate) fn failure(kind: ErrorKind, message: &str) -> String {
    let hint = match kind {
        ErrorKind::NoObject => " Try a picture with one object on a plain background, or set Background to keep.",
        ErrorKind::Unavailable => " Generate again: the daemon is started anew when auto-start is on.",
        ErrorKind::ResourceExhausted => " Free some disk space, or wait for the queue to empty.",
        _ => "",
    };
    format!("{}{hint}", sentence(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(stage: Stage, fraction: f32) -> JobEvent {
        JobEvent::Progress { job_id: "j".to_owned(), stage, stage_fraction: 0.0, fraction, eta: None }
    }

    #[test]
    fn the_queue_then_each_stage_is_shown_once_and_never_goes_back() {
        let mut state = Progress::default();
        let queued = state.update(&JobEvent::Queued { job_id: "j".to_owned(), position: 3 });
        assert_eq!(
            queued,
            Some(Message::Progress { stage: "Waiting: 2 jobs ahead".to_owned(), fraction: 0.0, queue_position: 3 })
        );
        let started = state.update(&JobEvent::Started {
            job_id: "j".to_owned(),
            device: "cpu".to_owned(),
            background: "builtin".to_owned(),
        });
        assert!(
            matches!(started, Some(Message::Progress { ref stage, queue_position: 0, .. }) if stage == "Started on the CPU")
        );
        assert!(matches!(
            state.update(&progress(Stage::Reconstruct, 0.4)),
            Some(Message::Progress { ref stage, fraction, .. }) if stage == "Building the shape" && fraction == 0.4
        ));
        // The same again changes nothing; a late, smaller fraction does not move the bar back.
        assert_eq!(state.update(&progress(Stage::Reconstruct, 0.4)), None);
        assert!(matches!(
            state.update(&progress(Stage::Texture, 0.2)),
            Some(Message::Progress { fraction, .. }) if fraction == 0.4
        ));
        assert!(
            matches!(state.update(&progress(Stage::Export, 7.0)), Some(Message::Progress { fraction, .. }) if fraction == 1.0)
        );
        assert_eq!(state.update(&JobEvent::Cancelled { job_id: "j".to_owned() }), None);
    }

    #[test]
    fn failures_read_as_sentences_with_what_to_do() {
        assert_eq!(sentence("the queue is full"), "The queue is full.");
        assert_eq!(sentence("Done!"), "Done!");
        assert_eq!(sentence("  "), "Something went wrong, with no reason given.");
        assert_eq!(
            failure(ErrorKind::NoObject, "no object was found in the picture"),
            "No object was found in the picture. Try a picture with one object on a plain background, or set Background to keep."
        );
        assert_eq!(failure(ErrorKind::InvalidInput, "faces: too many."), "Faces: too many.");
    }
}
